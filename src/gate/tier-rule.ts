// Tier requirements, compiled once per middleware: which tier labels are accepted, and how an
// account's subscriptions (from the status endpoint) measure up against them.
import { ArgumentError } from '../shared/errors';
import { didYouMean } from '../shared/nearest-name';
import { isCode } from '../shared/rules';
import { checkKnownKeys } from '../shared/strict-keys';

export interface TierCheckOptions {
  /** Tier labels that are accepted, e.g. 'pro' or ['pro', 'enterprise']. */
  tiers?: string | readonly string[];
  /** This tier or any ranked above it in the gate's `tierOrder`. */
  atLeast?: string;
  /** Only subscriptions of this subscription label count (sent to ecom9 as `?subscription=`). */
  subscription?: string;
  /** Overrides the gate's failMode for this check. */
  failMode?: 'closed' | 'open';
  /** Put a checkout link for the required tier in the denial (one cached resolve-public-url call). */
  upgradeLink?: boolean;
  /** Turn a past-due subscription of a required tier into a 402 with the hosted payment link. */
  paymentLink?: boolean;
}

const TIER_CHECK_KEYS = Object.keys({
  tiers: true,
  atLeast: true,
  subscription: true,
  failMode: true,
  upgradeLink: true,
  paymentLink: true,
} satisfies { [K in keyof Required<TierCheckOptions>]: true });

export interface TierRule {
  readonly accepted: ReadonlySet<string>;
  /** Accepted labels, lowest first: the first is the one an upgrade link points to. */
  readonly required: readonly string[];
  readonly subscription: string | undefined;
  readonly failMode: 'closed' | 'open' | undefined;
  readonly upgradeLink: boolean;
  readonly paymentLink: boolean;
}

/** A usable label: a non-empty string without NUL, the separator of cache and decision keys. */
export function checkFailMode(v: unknown): void {
  if (v !== undefined && v !== 'closed' && v !== 'open') throw new ArgumentError("ecom9-gate: \"failMode\" must be 'closed' or 'open'");
}

export function compileTierRule(opts: TierCheckOptions, tierOrder: readonly string[] | undefined): TierRule {
  if (typeof opts !== 'object' || opts === null) throw new ArgumentError('ecom9-gate: a tier check needs an options object');
  checkKnownKeys('tier check', opts, TIER_CHECK_KEYS, (m) => new ArgumentError(m));
  const required: string[] = [];
  const { tiers } = opts;
  if (tiers !== undefined && typeof tiers !== 'string' && !Array.isArray(tiers)) {
    throw new ArgumentError('ecom9-gate: "tiers" must be a tier label or an array of them');
  }
  const listed: readonly unknown[] = tiers === undefined ? [] : typeof tiers === 'string' ? [tiers] : tiers;
  for (const t of listed) {
    if (!isCode(t)) throw new ArgumentError('ecom9-gate: "tiers" must be non-empty tier labels');
    // With tierOrder the gate knows every tier: one outside it is a typo that would deny everyone.
    if (tierOrder && !tierOrder.includes(t)) {
      throw new ArgumentError(`ecom9-gate: tier "${t}" is not in the gate's "tierOrder"${didYouMean(t, tierOrder)}`);
    }
    required.push(t);
  }
  if (opts.atLeast !== undefined) {
    if (!tierOrder) throw new ArgumentError('ecom9-gate: "atLeast" needs the gate option "tierOrder"');
    const i = tierOrder.indexOf(opts.atLeast);
    if (i < 0) {
      throw new ArgumentError(
        `ecom9-gate: "atLeast" names tier "${String(opts.atLeast)}", which is not in "tierOrder"${didYouMean(String(opts.atLeast), tierOrder)}`,
      );
    }
    for (const t of tierOrder.slice(i)) if (!required.includes(t)) required.push(t);
  }
  if (required.length === 0) throw new ArgumentError('ecom9-gate: a tier check needs "tiers" or "atLeast"');
  if (tierOrder) required.sort((a, b) => rank(tierOrder, a) - rank(tierOrder, b));
  if (opts.subscription !== undefined && !isCode(opts.subscription)) {
    throw new ArgumentError('ecom9-gate: "subscription" must be a non-empty subscription label');
  }
  checkFailMode(opts.failMode);
  return {
    accepted: new Set(required),
    required,
    subscription: opts.subscription,
    failMode: opts.failMode,
    upgradeLink: opts.upgradeLink === true,
    paymentLink: opts.paymentLink === true,
  };
}

function rank(order: readonly string[], tier: string): number {
  const i = order.indexOf(tier);
  return i < 0 ? Number.MAX_SAFE_INTEGER : i;
}

/** The part of a subscription entry the gate reads. */
export interface SubscriptionFacts {
  readonly is_active: boolean;
  readonly tier: string;
  readonly productManageId: string | null;
}

export interface TierMatch {
  readonly allowed: boolean;
  readonly activeTiers: readonly string[];
  /** An inactive subscription on an accepted tier (past due, incomplete or cancelled), if any. */
  readonly lapsed: SubscriptionFacts | undefined;
}

export function matchTier(subscriptions: readonly SubscriptionFacts[], rule: TierRule): TierMatch {
  const activeTiers: string[] = [];
  let allowed = false;
  let lapsed: SubscriptionFacts | undefined;
  for (const s of subscriptions) {
    const label = s.tier;
    if (s.is_active) {
      activeTiers.push(label);
      if (rule.accepted.has(label)) allowed = true;
    } else if (rule.accepted.has(label)) {
      lapsed = s;
    }
  }
  return { allowed, activeTiers, lapsed };
}

/** What the cache keeps of an account status: only what tier decisions and links read. */
export interface StatusFacts {
  readonly customer_email: string | null;
  readonly subscriptions: readonly SubscriptionFacts[];
}

// The subscription lists repeat across accounts (thousands on "pro, active"): one frozen copy of each
// distinct list, not one per account. Bounded, past which lists are simply not shared.
const sharedLists = new Map<string, readonly SubscriptionFacts[]>();

export function compactStatus(status: {
  customer_email: string | null;
  subscriptions: ReadonlyArray<{ is_active: boolean; subscription_tier: { label_name: string; product_manage_id?: string | null } }>;
}): StatusFacts {
  const key = status.subscriptions
    .map((s) => `${s.is_active ? 1 : 0}${s.subscription_tier.label_name}\u0000${s.subscription_tier.product_manage_id ?? ''}`)
    .join('\u0001');
  let subscriptions = sharedLists.get(key);
  if (subscriptions === undefined) {
    subscriptions = Object.freeze(
      status.subscriptions.map((s) =>
        Object.freeze({ is_active: s.is_active, tier: s.subscription_tier.label_name, productManageId: s.subscription_tier.product_manage_id ?? null }),
      ),
    );
    if (sharedLists.size < 10_000) sharedLists.set(key, subscriptions);
  }
  return { customer_email: status.customer_email, subscriptions };
}
