// Links a denied client can act on, fetched only when a route asks for them and cached like any
// other fact of the account (so a webhook drops them too): the checkout URL for the required tier,
// and the hosted payment URL of a past-due subscription.
import type { Ecom9Client } from '../client';
import { isEcom9NotFound } from '../shared/rules';
import type { CatalogCache } from './catalog';
import { deny, type Decision } from './decision';
import { keySuffix, type FactCache } from './fact-cache';
import type { StatsRecorder } from '../shared/stats';
import type { StatusFacts, TierRule } from './tier-rule';
import { matchTier } from './tier-rule';

export class LinkResolver {
  constructor(
    private readonly client: Ecom9Client,
    private readonly cache: FactCache,
    private readonly catalog: CatalogCache,
    private readonly stats: StatsRecorder,
    private readonly report: (err: unknown) => void,
  ) {}

  /**
   * Adds the links the rule asks for to a tier denial. `complete` is false when a link could not be
   * fetched, so the caller does not memoise a decision that lacks it.
   */
  async enrichTierDenial(ref: string, denial: Decision, status: StatusFacts | null, rule: TierRule): Promise<{ decision: Decision; complete: boolean }> {
    let complete = true;
    if (status && rule.paymentLink) {
      const lapsed = matchTier(status.subscriptions, rule).lapsed;
      if (lapsed) {
        const tier = lapsed.tier;
        const sub = rule.subscription ?? (await this.subscriptionFor(tier, lapsed.productManageId));
        const url =
          sub === undefined
            ? undefined
            : await this.cached(ref, ['pay', sub, tier], async () => {
                const r = await this.client.subscriptions.fix({ accountRefId: ref, subscriptionName: sub, tierName: tier });
                return r.url;
              });
        if (url === undefined) complete = false;
        else if (url !== null) {
          return {
            decision: deny('payment_required', denial.source, {
              ...stripCode(denial),
              paymentUrl: url,
              detail: `The ${tier} subscription is past due; pay the open invoice to continue.`,
            }),
            complete,
          };
        }
      }
    }
    if (status && rule.upgradeLink && status.customer_email) {
      const tier = rule.required[0] as string;
      const sub = rule.subscription ?? (await this.subscriptionFor(tier, undefined));
      const email = status.customer_email;
      const url =
        sub === undefined
          ? undefined
          : await this.cached(ref, ['up', sub, tier], async () => {
              const r = await this.client.links.resolvePublicUrl({ accountRefId: ref, subscriptionName: sub, tierName: tier, email });
              return r.public_url;
            });
      if (url === undefined) complete = false;
      else if (url !== null) return { decision: { ...denial, upgradeUrl: url }, complete };
    }
    return { decision: denial, complete };
  }

  private async subscriptionFor(tier: string, productManageId: string | null | undefined): Promise<string | undefined> {
    try {
      return await this.catalog.subscriptionFor(tier, productManageId);
    } catch (err) {
      this.stats.inc('upstreamErrors');
      this.report(err);
      return undefined;
    }
  }

  /** A link from the cache or ecom9; null when ecom9 has none (404 or empty), undefined on failure. */
  private async cached(ref: string, parts: string[], load: () => Promise<string | null>): Promise<string | null | undefined> {
    const lookup = await this.cache.lookup<string | null>(ref, keySuffix(...parts), async () => {
      try {
        const url = await load();
        return { value: url, denies: url === null };
      } catch (e) {
        if (isEcom9NotFound(e)) return { value: null, denies: true };
        throw e;
      }
    });
    return lookup.kind === 'failed' ? undefined : lookup.fact.value;
  }
}

function stripCode(d: Decision): Omit<Decision, 'allowed' | 'code' | 'status' | 'source'> {
  const { allowed: _a, code: _c, status: _s, source: _src, ...facts } = d;
  return facts;
}
