// Tier and entitlement decisions: a cached fact from ecom9, matched locally, turned into a Decision.
// A prepared check is compiled once per middleware; its `peek` answers a warm cache synchronously.
import { RateLimitError, type Ecom9Client } from '../client';
import { allow, deny, withSource, type Decision } from './decision';
import { keySuffix, type Fact, type FactCache, type Lookup } from './fact-cache';
import { explainRef } from '../shared/account-ref';
import { ArgumentError } from '../shared/errors';
import { misconfiguration } from '../shared/misconfig';
import { isCode, isEcom9NotFound } from '../shared/rules';
import { checkKnownKeys } from '../shared/strict-keys';
import type { StatsRecorder } from '../shared/stats';
import { checkFailMode, compactStatus, compileTierRule, matchTier, type StatusFacts, type TierCheckOptions, type TierRule } from './tier-rule';
import type { LinkResolver } from './links';
import type { NameCheck, NamedCheck } from './name-check';

export type FailMode = 'closed' | 'open';

/** A check compiled once (per middleware) and run per request. */
export interface PreparedCheck {
  /** The decision from a fresh cache entry, synchronously, or undefined when ecom9 must be asked. */
  peek(accountRefId: string): Decision | undefined;
  /** `route` (e.g. `GET /reports`) names where the check runs when a name it relies on is reported unknown. */
  check(accountRefId: string, route?: string): Promise<Decision>;
}

export interface EntitlementCheckOptions {
  product: string;
  entitlement: string;
  failMode?: FailMode;
}

const ENTITLEMENT_CHECK_KEYS = Object.keys({ product: true, entitlement: true, failMode: true } satisfies {
  [K in keyof Required<EntitlementCheckOptions>]: true;
});

interface AccessDeps {
  client: Ecom9Client;
  cache: FactCache;
  stats: StatsRecorder;
  links: LinkResolver;
  failMode: FailMode;
  tierOrder: readonly string[] | undefined;
  report: (err: unknown) => void;
  names: NameCheck;
}

type StatusFact = StatusFacts | null;

/** Retry-After for a fail-closed 503: what ecom9 asked for, else a short default. */
const DEFAULT_RETRY_AFTER_S = 5;

export class Access {
  constructor(private readonly d: AccessDeps) {}

  // Rules are interned by content so that decisions memoised on a fact are shared by every caller
  // with the same requirement; past the cap (rules built from request data) they are not memoised.
  private readonly rules = new Map<string, TierRule>();
  private readonly entitlementKeys = new Map<string, { product: string; entitlement: string }>();

  tierCheck(opts: TierCheckOptions): PreparedCheck {
    const rule = this.internTier(opts);
    const suffix = keySuffix('s', rule.subscription ?? '');
    const cache = this.d.cache;
    const named = tierNames(opts, rule);
    return {
      peek: (ref) => cache.peekDecision<Decision>(ref + suffix, rule),
      check: (ref, route) => this.checkTier(ref, rule, suffix, named, route),
    };
  }

  entitlementCheck(opts: EntitlementCheckOptions): PreparedCheck {
    if (typeof opts !== 'object' || opts === null) throw new ArgumentError('ecom9-gate: an entitlement check needs an options object');
    checkKnownKeys('entitlement check', opts, ENTITLEMENT_CHECK_KEYS, (m) => new ArgumentError(m));
    const { product, entitlement, failMode } = opts;
    if (!isCode(product)) throw new ArgumentError('ecom9-gate: "product" must be a non-empty product code');
    if (!isCode(entitlement)) throw new ArgumentError('ecom9-gate: "entitlement" must be a non-empty entitlement code');
    checkFailMode(failMode);
    const memoKey = intern(this.entitlementKeys, `${product}\u0000${entitlement}`, () => ({ product, entitlement }));
    const suffix = keySuffix('e', product, entitlement);
    const cache = this.d.cache;
    // ecom9's catalogue lists products, not their entitlements: only the product can be looked up.
    const named: NamedCheck = { check: `requireEntitlement("${product}", "${entitlement}")`, names: [{ kind: 'product', label: product }] };
    // Everything, failMode included, is read once here: a later change to `opts` compiles a new check.
    return {
      peek: (ref) => cache.peekDecision<Decision>(ref + suffix, memoKey),
      check: (ref, route) => this.checkEntitlement(ref, memoKey, suffix, failMode, named, route),
    };
  }

  private async checkTier(ref: string, rule: TierRule, suffix: string, named: NamedCheck, route: string | undefined): Promise<Decision> {
    const bad = explainRef(ref);
    if (bad) return deny('account_unresolved', 'cache', { detail: bad });
    const sub = rule.subscription;
    const lookup = await this.d.cache.lookup<StatusFact>(ref, suffix, () => this.loadStatus(ref, sub));
    if (lookup.kind === 'failed') return this.unavailable(ref, lookup.error, rule.failMode, { requiredTiers: rule.required });
    const memo = lookup.fact.decision<Decision>(rule);
    if (memo) return reSourced(memo, lookup);
    const plain = this.decideTier(lookup.fact, rule);
    // A denial lives only denyTtlMs, even when the fact behind it (active on another tier) allows others.
    if (!plain.allowed && lookup.kind === 'fresh') this.d.cache.shortenToDenyTtl(ref, suffix, lookup.fact);
    if (!plain.allowed && lookup.kind === 'fresh' && lookup.source === 'upstream') this.d.names.denied(named, route);
    let decision = plain;
    let complete = true;
    if (!decision.allowed && (rule.upgradeLink || rule.paymentLink) && lookup.kind === 'fresh') {
      const enriched = await this.d.links.enrichTierDenial(ref, decision, lookup.fact.value, rule);
      decision = enriched.decision;
      complete = enriched.complete;
    }
    // A decision missing a link that could not be fetched is not memoised, so the link is tried again.
    if (complete && this.rules.get(ruleKey(rule)) === rule) lookup.fact.remember(rule, decision === plain ? decision : Object.freeze(decision));
    return reSourced(decision, lookup);
  }

  private internTier(opts: TierCheckOptions): TierRule {
    const rule = compileTierRule(opts, this.d.tierOrder);
    return intern(this.rules, ruleKey(rule), () => rule);
  }

  /**
   * The decision for a fact, shared by every account with the same outcome (it names no account), so
   * 100,000 cached accounts on pro hold one Decision between them, not 100,000.
   */
  private decideTier(fact: Fact<StatusFact>, rule: TierRule): Decision {
    const status = fact.value;
    const match = status === null ? undefined : matchTier(status.subscriptions, rule);
    const active = match?.activeTiers ?? [];
    const allowed = match?.allowed === true;
    // Active tiers are ecom9's labels, not checked like the app's: JSON keeps them apart.
    const activeKey = status === null ? '?' : JSON.stringify(active);
    return this.shared(`t${SEP}${ruleKey(rule)}${SEP}${allowed}${SEP}${activeKey}`, () => {
      const facts = { requiredTiers: rule.required, activeTiers: active, ...(rule.subscription ? { subscription: rule.subscription } : {}) };
      if (allowed) return allow('cache', facts);
      const detail = status === null ? 'ecom9 knows no subscription for this account.' : `This needs an active ${rule.required.join(' or ')} subscription.`;
      return deny('tier_required', 'cache', { ...facts, detail });
    });
  }

  private readonly decisions = new Map<string, Decision>();

  private shared(key: string, make: () => Decision): Decision {
    return intern(this.decisions, key, () => Object.freeze(make()));
  }

  private async checkEntitlement(
    ref: string,
    key: { product: string; entitlement: string },
    suffix: string,
    failMode: FailMode | undefined,
    named: NamedCheck,
    route: string | undefined,
  ): Promise<Decision> {
    const bad = explainRef(ref);
    if (bad) return deny('account_unresolved', 'cache', { detail: bad });
    const { product, entitlement } = key;
    const lookup = await this.d.cache.lookup<boolean>(ref, suffix, async () => {
      try {
        const r = await this.d.client.entitlements.check({ accountRefId: ref, productCode: product, entitlementCode: entitlement });
        return { value: r.has_access, denies: !r.has_access };
      } catch (e) {
        if (isEcom9NotFound(e)) return { value: false, denies: true };
        throw e;
      }
    });
    if (lookup.kind === 'failed') return this.unavailable(ref, lookup.error, failMode, { product, entitlement });
    if (!lookup.fact.value && lookup.kind === 'fresh' && lookup.source === 'upstream') this.d.names.denied(named, route);
    let memo = lookup.fact.decision<Decision>(key);
    if (!memo) {
      const facts = { product, entitlement };
      const has = lookup.fact.value;
      memo = this.shared(`e${SEP}${product}${SEP}${entitlement}${SEP}${has}`, () =>
        has ? allow('cache', facts) : deny('entitlement_required', 'cache', { ...facts, detail: `This needs the ${entitlement} entitlement of ${product}.` }),
      );
      if (this.entitlementKeys.get(`${product}\u0000${entitlement}`) === key) lookup.fact.remember(key, memo);
    }
    return reSourced(memo, lookup);
  }

  private async loadStatus(ref: string, subscription: string | undefined): Promise<{ value: StatusFact; denies: boolean }> {
    try {
      const status = await this.d.client.accounts.status(subscription ? { accountRefId: ref, subscription } : { accountRefId: ref });
      return { value: compactStatus(status), denies: !status.is_active };
    } catch (e) {
      // Unknown account, or no such subscription: a definite "no", cached like any denial.
      if (isEcom9NotFound(e)) return { value: null, denies: true };
      throw e;
    }
  }

  /**
   * ecom9 failed and nothing stale is young enough: failMode decides. A failure that is the gate's
   * own configuration is a 500 instead (reported once per episode by the UpstreamWatch), and never
   * let through by failMode 'open'.
   */
  unavailable(ref: string, error: unknown, perCall: FailMode | undefined, facts: Partial<Decision>): Decision {
    if (misconfiguration(error) !== undefined) {
      return deny('misconfigured', 'upstream', { ...facts, accountRefId: ref, detail: "The billing service refused this server's configuration." });
    }
    if ((perCall ?? this.d.failMode) === 'open') {
      this.d.stats.inc('failOpenAllowed');
      return { ...facts, accountRefId: ref, allowed: true, code: 'upstream_unavailable', status: 200, source: 'fallback' };
    }
    this.d.stats.inc('failClosedDenied');
    const wait = error instanceof RateLimitError && error.retryAfterMs !== undefined ? Math.ceil(error.retryAfterMs / 1000) : DEFAULT_RETRY_AFTER_S;
    return deny('upstream_unavailable', 'upstream', {
      ...facts,
      accountRefId: ref,
      retryAfterSeconds: Math.max(1, wait),
      detail: 'The billing service could not be reached; try again shortly.',
    });
  }
}

// The separator of interned keys: labels cannot contain it (isCode), so the keys cannot collide.
const SEP = '\u0000';

const MAX_INTERNED = 1_000;

function intern<T>(map: Map<string, T>, key: string, make: () => T): T {
  const found = map.get(key);
  if (found !== undefined) return found;
  const made = make();
  if (map.size < MAX_INTERNED) map.set(key, made);
  return made;
}

function ruleKey(r: TierRule): string {
  return `${r.required.join(SEP)}${SEP}${SEP}${r.subscription ?? ''}${SEP}${r.failMode ?? ''}${SEP}${r.upgradeLink ? 'u' : ''}${r.paymentLink ? 'p' : ''}`;
}

/** The names a tier check relies on, and the check as the user wrote it. */
function tierNames(opts: TierCheckOptions, rule: TierRule): NamedCheck {
  const written = opts.atLeast !== undefined && opts.tiers === undefined ? `{ atLeast: "${opts.atLeast}" }` : JSON.stringify(opts.tiers);
  const sub = rule.subscription === undefined ? '' : `, { subscription: "${rule.subscription}" }`;
  const names: NamedCheck['names'][number][] = rule.required.map((label) => ({ kind: 'tier' as const, label }));
  if (rule.subscription !== undefined) names.push({ kind: 'subscription', label: rule.subscription });
  return { check: `requireTier(${written}${sub})`, names };
}

function reSourced<T>(d: Decision, lookup: Exclude<Lookup<T>, { kind: 'failed' }>): Decision {
  if (lookup.kind === 'stale') return withSource(d, 'stale', lookup.ageMs);
  return lookup.source === 'cache' ? d : withSource(d, 'upstream');
}
