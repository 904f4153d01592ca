// FixSubscriptionBanner (a past-due subscription's repair link) and CreditsBalance (prepaid credits,
// with a top-up link when low). Unstyled, data-ecom9-* attributes; live through the events stream.
import { createElement as h, type ReactElement, type ReactNode } from 'react';
import { webUrl } from './checkout';
import { useCredits, useFixSubscription } from './hooks';

export interface FixSubscriptionBannerProps {
  /** The subscription (ecom9 product label), e.g. 'studio-suite'. */
  subscription: string;
  /** The tier label of the subscription to repair, e.g. 'pro'. */
  tier: string;
  /** The message. @default 'Your last payment failed. Update your payment details to keep your plan.' */
  children?: ReactNode;
  /** The link's text. @default 'Fix payment' */
  linkText?: ReactNode;
  /** On the root element (the alert, with data-ecom9-fix-banner). */
  className?: string;
  /** Sent as account_ref_id, which the server checks against the session (never trusts). */
  accountRefId?: string;
}

/** Nothing unless ecom9 has a past-due or incomplete invoice to pay; then an alert linking to it. */
export function FixSubscriptionBanner({ subscription, tier, children, linkText, className, accountRefId }: FixSubscriptionBannerProps): ReactElement | null {
  const q = useFixSubscription({ subscriptionName: subscription, tierName: tier, ...(accountRefId ? { accountRefId } : {}) });
  // An error (no such subscription for this account, ecom9 down) shows nothing: a banner only when a URL says so.
  const url = webUrl(q.data?.url);
  if (url === undefined) return null;
  return h(
    'div',
    { role: 'alert', 'data-ecom9-fix-banner': subscription, className },
    h('p', { 'data-ecom9-message': '' }, children ?? 'Your last payment failed. Update your payment details to keep your plan.'),
    h('a', { href: url, 'data-ecom9-fix-link': '' }, linkText ?? 'Fix payment'),
  );
}

export interface CreditsBalanceProps {
  /** The product code, e.g. 'ai-images'. */
  product: string;
  /** The meter code, e.g. 'credits'. */
  meter: string;
  /** At or below this balance it says the credits run low, and shows `topUpUrl`. */
  lowAt?: number;
  /** Where to buy more (the same link as your server's `chargeCredits({ topUpUrl })` denials). */
  topUpUrl?: string;
  /** What a unit is called. @default 'credits' */
  unit?: string;
  /** The words shown. @default loading 'Loading credits…', error 'Your credits could not be loaded.', low '(running low)', topUp 'Top up credits' */
  labels?: { loading?: string; error?: string; low?: string; topUp?: string };
  /** On the root element (data-ecom9-credits, role=status). */
  className?: string;
  /** Sent as account_ref_id, which the server checks against the session (never trusts). */
  accountRefId?: string;
}

/** The balance of one product's meter, live; at or below lowAt, says so and links to topUpUrl. */
export function CreditsBalance({ product, meter, lowAt, topUpUrl, unit = 'credits', labels = {}, className, accountRefId }: CreditsBalanceProps): ReactElement {
  const q = useCredits({ productCode: product, meterCode: meter, ...(accountRefId ? { accountRefId } : {}) });
  const state = q.isPending ? 'loading' : q.isError ? 'error' : 'ready';
  const balance = q.data?.balance;
  const low = state === 'ready' && lowAt !== undefined && typeof balance === 'number' && balance <= lowAt;
  const link = webUrl(topUpUrl);
  // role=status: a screen reader hears the new balance when the events stream refreshes it.
  const root = { role: 'status', 'data-ecom9-credits': `${product}/${meter}`, 'data-ecom9-state': state, 'data-ecom9-low': low ? '' : undefined, className };
  if (state === 'loading') return h('p', root, labels.loading ?? `Loading ${unit}…`);
  if (state === 'error') return h('p', root, labels.error ?? `Your ${unit} could not be loaded.`);
  return h(
    'p',
    root,
    // Digits as sent: a locale's grouping could differ between the server's render and the browser's.
    h('span', { 'data-ecom9-balance': '' }, String(balance ?? 0)),
    h('span', { 'data-ecom9-unit': '' }, ` ${unit}`),
    low ? h('span', { 'data-ecom9-low-label': '' }, ` ${labels.low ?? '(running low)'}`) : null,
    low && link ? ' ' : null,
    low && link ? h('a', { href: link, 'data-ecom9-top-up': '' }, labels.topUp ?? `Top up ${unit}`) : null,
  );
}
