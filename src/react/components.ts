// Paywalls: RequireTier and RequireEntitlement render their children when the server says so, else
// the fallback (also on an error: they fail closed). The server still enforces; these only show it.
import { createElement, Fragment, type ReactElement, type ReactNode } from 'react';
import { useAccountStatus, useEntitlement } from './hooks';
import type { AccountStatus } from './query';

export interface RequireTierProps {
  /** One tier label or several (any of them passes). */
  tier: string | readonly string[];
  /** Only subscriptions of this product count. */
  subscription?: string;
  accountRefId?: string;
  /** Shown when the account is not on the tier (or the check failed). */
  fallback?: ReactNode;
  /** Shown while the status loads (default: nothing). */
  loading?: ReactNode;
  children?: ReactNode;
}

/** Is an active subscription of the account on one of the tiers? */
export function hasTier(status: AccountStatus | undefined, tier: string | readonly string[]): boolean {
  const tiers = typeof tier === 'string' ? [tier] : tier;
  return status?.subscriptions?.some((s) => s.is_active && tiers.includes(s.subscription_tier.label_name)) ?? false;
}

const show = (node: ReactNode) => createElement(Fragment, null, node ?? null);

export function RequireTier({ tier, subscription, accountRefId, fallback, loading, children }: RequireTierProps): ReactElement {
  const q = useAccountStatus({ ...(subscription ? { subscription } : {}), ...(accountRefId ? { accountRefId } : {}) });
  if (q.isLoading) return show(loading);
  // Fail closed: a refetch that failed (429, 503) must not leave the last good answer showing paid content.
  if (q.isError) return show(fallback);
  return show(hasTier(q.data, tier) ? children : fallback);
}

export interface RequireEntitlementProps {
  product: string;
  entitlement: string;
  accountRefId?: string;
  fallback?: ReactNode;
  loading?: ReactNode;
  children?: ReactNode;
}

export function RequireEntitlement({ product, entitlement, accountRefId, fallback, loading, children }: RequireEntitlementProps): ReactElement {
  const q = useEntitlement({ productCode: product, entitlementCode: entitlement, ...(accountRefId ? { accountRefId } : {}) });
  if (q.isLoading) return show(loading);
  if (q.isError) return show(fallback);
  return show(q.data?.has_access === true ? children : fallback);
}
