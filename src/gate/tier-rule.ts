// Tier requirements, compiled once per middleware: which tier labels are accepted, and how an
// account's subscriptions (from the status endpoint) measure up against them.

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

export interface TierRule {
  readonly accepted: ReadonlySet<string>;
  /** Accepted labels, lowest first: the first is the one an upgrade link points to. */
  readonly required: readonly string[];
  readonly subscription: string | undefined;
  readonly failMode: 'closed' | 'open' | undefined;
  readonly upgradeLink: boolean;
  readonly paymentLink: boolean;
}

export function compileTierRule(opts: TierCheckOptions, tierOrder: readonly string[] | undefined): TierRule {
  const required: string[] = [];
  const listed = opts.tiers === undefined ? [] : typeof opts.tiers === 'string' ? [opts.tiers] : [...opts.tiers];
  for (const t of listed) {
    if (typeof t !== 'string' || t.length === 0) throw new TypeError('ecom9-gate: "tiers" must be non-empty tier labels');
    required.push(t);
  }
  if (opts.atLeast !== undefined) {
    if (!tierOrder) throw new TypeError('ecom9-gate: "atLeast" needs the gate option "tierOrder"');
    const i = tierOrder.indexOf(opts.atLeast);
    if (i < 0) throw new TypeError(`ecom9-gate: "atLeast" names a tier that is not in "tierOrder"`);
    for (const t of tierOrder.slice(i)) if (!required.includes(t)) required.push(t);
  }
  if (required.length === 0) throw new TypeError('ecom9-gate: a tier check needs "tiers" or "atLeast"');
  if (tierOrder) required.sort((a, b) => rank(tierOrder, a) - rank(tierOrder, b));
  if (opts.subscription !== undefined && (typeof opts.subscription !== 'string' || opts.subscription === '')) {
    throw new TypeError('ecom9-gate: "subscription" must be a non-empty subscription label');
  }
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
  readonly subscription_tier: { readonly label_name: string; readonly product_manage_id?: string | null };
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
    const label = s.subscription_tier.label_name;
    if (s.is_active) {
      activeTiers.push(label);
      if (rule.accepted.has(label)) allowed = true;
    } else if (rule.accepted.has(label)) {
      lapsed = s;
    }
  }
  return { allowed, activeTiers, lapsed };
}
