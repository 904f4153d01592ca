// PricingTable and UpgradeButton: ecom9's tiers of one subscription, the account's current tier
// marked, and a choose button per other tier that goes to its checkout. Unstyled: data-ecom9-*
// attributes for styles.css or the app's own CSS. Renders on a server without window (loading first
// unless the queries were prefetched), and stays live through the provider's events stream.
import { createElement as h, type ReactElement, type ReactNode } from 'react';
import { useCheckout } from './checkout';
import { useAccountStatus, useTiers } from './hooks';
import type { Tier } from './query';

/** The words the components show, for another language or tone. */
export interface PricingLabels {
  /** The accessible name of a tier's button; must contain the tier's name. @default (name) => `Choose ${name}` */
  choose?: (name: string) => string;
  /** While its checkout link resolves. @default (name) => `Opening checkout for ${name}…` */
  busy?: (name: string) => string;
  /** @default 'Your current plan' */
  current?: string;
  /** @default 'Most popular' */
  popular?: string;
  /** @default 'Loading plans…' */
  loading?: string;
  /** @default 'The plans could not be loaded. Please try again later.' */
  error?: string;
  /** @default (code) => `The checkout could not be opened (${code}). Please try again.` */
  checkoutError?: (code: string) => string;
}

export interface PricingTableProps {
  /** The subscription (ecom9 product label) whose tiers are shown, e.g. 'studio-suite'. */
  subscription: string;
  /** Called with the resolved checkout link instead of going there (`window.location.assign`). */
  onSelect?: (url: string, tier: Tier) => void;
  /** Heading level of each tier's name. @default 3 */
  headingLevel?: 2 | 3 | 4 | 5 | 6;
  /** How a tier's price reads. @default its price and billing cycle ('29.00', 'per month') */
  formatPrice?: (tier: Tier) => ReactNode;
  labels?: PricingLabels;
  /** On the root element, beside its data-ecom9-pricing-table attribute. */
  className?: string;
  /** Sent as account_ref_id, which the server checks against the session (never trusts). */
  accountRefId?: string;
}

const CYCLES: Record<string, string> = {
  monthly: 'per month',
  yearly: 'per year',
  annual: 'per year',
  annually: 'per year',
  weekly: 'per week',
  daily: 'per day',
};

function defaultPrice(t: Tier): ReactNode {
  const cycle = t.billing_cycle ? (CYCLES[t.billing_cycle.toLowerCase()] ?? t.billing_cycle) : undefined;
  return [h('span', { key: 'a', 'data-ecom9-amount': '' }, t.price ?? ''), cycle ? h('span', { key: 'c', 'data-ecom9-cycle': '' }, ` ${cycle}`) : null];
}

/** ecom9 sends a tier's features as one comma-separated string. */
export const splitFeatures = (f: string | null | undefined): string[] =>
  (f ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

const displayName = (t: Tier) => t.name || t.label_name;

/** The subscription's tiers, the current one marked (aria-current), a choose button on each other that goes to its checkout. */
export function PricingTable({
  subscription,
  onSelect,
  headingLevel = 3,
  formatPrice = defaultPrice,
  labels = {},
  className,
  accountRefId,
}: PricingTableProps): ReactElement {
  const account = accountRefId ? { accountRefId } : {};
  const tiers = useTiers({ subscription, ...account });
  const status = useAccountStatus({ subscription, ...account });
  const byLabel = new Map((tiers.data?.results ?? []).map((t) => [t.label_name, t]));
  const checkout = useCheckout(subscription, onSelect ? (url, label) => onSelect(url, byLabel.get(label) as Tier) : undefined, accountRefId);
  // isPending, not isLoading: a query paused offline is pending without loading, and has nothing to show.
  const state = tiers.isPending ? 'loading' : tiers.isError ? 'error' : 'ready';
  const current = new Set(status.data?.subscriptions.filter((s) => s.is_active).map((s) => s.subscription_tier.label_name));
  const root = { 'data-ecom9-pricing-table': '', 'data-ecom9-state': state, className };
  if (state === 'loading') return h('div', root, h('p', { role: 'status' }, labels.loading ?? 'Loading plans…'));
  if (state === 'error') return h('div', root, h('p', { role: 'alert' }, labels.error ?? 'The plans could not be loaded. Please try again later.'));

  const tier = (t: Tier) => {
    const name = displayName(t);
    const isCurrent = current.has(t.label_name);
    const busy = checkout.busy === t.label_name;
    const failed = checkout.failed?.tier === t.label_name ? checkout.failed.code : undefined;
    const features = splitFeatures(t.features);
    return h(
      'li',
      {
        key: t.label_name,
        'data-ecom9-tier': t.label_name,
        'data-ecom9-popular': t.is_popular ? '' : undefined,
        'data-ecom9-current': isCurrent ? '' : undefined,
        'aria-current': isCurrent ? 'true' : undefined,
      },
      h(`h${headingLevel}`, { 'data-ecom9-tier-name': '' }, name),
      t.is_popular ? h('p', { 'data-ecom9-popular-label': '' }, labels.popular ?? 'Most popular') : null,
      h('p', { 'data-ecom9-price': '' }, formatPrice(t)),
      t.description ? h('p', { 'data-ecom9-description': '' }, t.description) : null,
      features.length ? h('ul', { 'data-ecom9-features': '' }, ...features.map((f, i) => h('li', { key: i }, f))) : null,
      isCurrent
        ? h('p', { 'data-ecom9-current-label': '' }, labels.current ?? 'Your current plan')
        : h(
            'button',
            {
              type: 'button',
              'data-ecom9-choose': '',
              'aria-busy': busy ? 'true' : undefined,
              // Not `disabled` while busy: the button keeps its keyboard focus.
              'aria-disabled': busy ? 'true' : undefined,
              onClick: () => void checkout.choose(t.label_name),
            },
            busy ? (labels.busy ?? ((n: string) => `Opening checkout for ${n}…`))(name) : (labels.choose ?? ((n: string) => `Choose ${n}`))(name),
          ),
      failed
        ? h(
            'p',
            { role: 'alert', 'data-ecom9-error': failed },
            (labels.checkoutError ?? ((c: string) => `The checkout could not be opened (${c}). Please try again.`))(failed),
          )
        : null,
    );
  };
  return h('div', root, h('ul', { 'data-ecom9-tiers': '' }, ...(tiers.data?.results ?? []).map(tier)));
}

export interface UpgradeButtonProps {
  /** The subscription (ecom9 product label), e.g. 'studio-suite'. */
  subscription: string;
  /** The tier's label, e.g. 'pro'. */
  tier: string;
  /** The button's text (its accessible name). @default `Upgrade to ${tier}` */
  children?: ReactNode;
  /** Called with the resolved checkout link instead of going there. */
  onSelect?: (url: string, tier: string) => void;
  /** @default (code) => `The checkout could not be opened (${code}). Please try again.` */
  errorText?: (code: string) => string;
  /** On the root element (a span with data-ecom9-upgrade). */
  className?: string;
  /** Sent as account_ref_id, which the server checks against the session (never trusts). */
  accountRefId?: string;
}

/** One tier's checkout button: resolves the account's link on click and goes there (or calls onSelect). */
export function UpgradeButton({ subscription, tier, children, onSelect, errorText, className, accountRefId }: UpgradeButtonProps): ReactElement {
  const checkout = useCheckout(subscription, onSelect, accountRefId);
  const busy = checkout.busy === tier;
  const failed = checkout.failed?.code;
  return h(
    'span',
    { 'data-ecom9-upgrade': tier, className },
    h(
      'button',
      {
        type: 'button',
        'data-ecom9-choose': '',
        'aria-busy': busy ? 'true' : undefined,
        'aria-disabled': busy ? 'true' : undefined,
        onClick: () => void checkout.choose(tier),
      },
      children ?? `Upgrade to ${tier}`,
    ),
    failed
      ? h(
          'span',
          { role: 'alert', 'data-ecom9-error': failed },
          (errorText ?? ((c: string) => `The checkout could not be opened (${c}). Please try again.`))(failed),
        )
      : null,
  );
}
