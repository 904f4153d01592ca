// Makes every gating middleware of an adapter from its binding (binding.ts): requireTier,
// requireEntitlement, chargeCredits and meterUsage exist once, here, for all six frameworks.
import type { EntitlementCheckOptions } from '../gate/access';
import type { Gate } from '../gate/create-gate';
import type { DeniedDecision } from '../gate/decision';
import type { TierCheckOptions } from '../gate/tier-rule';
import { ArgumentError, OptionsError } from '../shared/errors';
import { checkKnownKeys } from '../shared/strict-keys';
import type { AdapterOptions } from './adapter-options';
import type { Binding, Finished, Run, Shape } from './binding';
import {
  chargeGuard,
  checkAdapterOptions,
  denialResponse,
  entitlementGuard,
  isPromise,
  mergeState,
  tierGuard,
  type ChargeOptions,
  type Ecom9State,
  type Guard,
} from './guards';
import { meterGuard, type MeterFinished, type MeterOptions } from './meter';
import { reserveGuard, type ReserveRouteOptions } from './reserve';
import { fingerprintOf, idempotentCharge } from './idempotent';

/** What every route's middleware may override of the adapter's options. */
export interface RouteOptions<Denied> {
  /** Answers this route's denials instead of the adapter's onDenied (or the problem+json default). */
  onDenied?: Denied;
}

/** requireTier's options: the tier check's, and the route's onDenied. */
export interface RequireTierOptions<Denied> extends Omit<TierCheckOptions, 'tiers'>, RouteOptions<Denied> {}

/** requireEntitlement's options: the entitlement check's, and the route's onDenied. */
export interface RequireEntitlementOptions<Denied> extends Omit<EntitlementCheckOptions, 'product' | 'entitlement'>, RouteOptions<Denied> {}

/** chargeCredits' options: the charge's, and the route's onDenied. */
export interface ChargeCreditsOptions<Req, Denied> extends ChargeOptions<Req>, RouteOptions<Denied> {}

/** reserveCredits' options: the hold's, and the route's onDenied. */
export interface ReserveCreditsOptions<Req, Denied> extends ReserveRouteOptions<Req>, RouteOptions<Denied> {}

/** The gating middlewares every adapter has, each returning the framework's middleware `Mw`. */
export interface GateMiddlewares<Mw, Req, Denied, MeterRes> {
  /** Only accounts with an active subscription on one of `tiers` (or `atLeast` and above) pass. */
  requireTier(tiers: string | readonly string[], opts?: RequireTierOptions<Denied>): Mw;
  /** Only accounts on `atLeast` or a tier above it in the gate's `tierOrder` pass: `requireTier(undefined, { atLeast: 'pro' })`. */
  requireTier(tiers: undefined, opts: RequireTierOptions<Denied> & { atLeast: string }): Mw;
  /** Only accounts that hold `entitlement` of `product` pass. */
  requireEntitlement(product: string, entitlement: string, opts?: RequireEntitlementOptions<Denied>): Mw;
  /** Debits before the route runs (402 when short); a retry with the same Idempotency-Key (same account and route) is charged once. */
  chargeCredits(opts: ChargeCreditsOptions<Req, Denied>): Mw;
  /**
   * Reserves the most the route may cost before it runs (402 when the balance less open holds is
   * short); the handler calls `hold.use(n)` on the state's `hold`, and what it used is settled in one
   * debit once the response is finished or the client left.
   */
  reserveCredits(opts: ReserveCreditsOptions<Req, Denied>): Mw;
  /** Records one usage event per response that counts (status < 400 by default), once it is finished. */
  meterUsage(opts: MeterOptions<Req, MeterRes>): Mw;
  /**
   * The state the route's ecom9 middlewares left, typed as present: for a handler behind one of the
   * middlewares above. On a request no ecom9 middleware ran for, it throws an ArgumentError saying so
   * (the request's own `ecom9` property is typed optional: an ungated route may not have it).
   */
  gated(req: Req): Ecom9State;
}

// The keys each middleware's per-route options may have, as records over the option types: adding
// an option without listing it here (or listing one that does not exist) fails to compile.
type Keys<T> = { readonly [K in keyof Required<T>]: true };

const tier: Keys<RequireTierOptions<unknown>> = { atLeast: true, subscription: true, failMode: true, upgradeLink: true, paymentLink: true, onDenied: true };
const entitlement: Keys<RequireEntitlementOptions<unknown>> = { failMode: true, onDenied: true };
const charge: Keys<ChargeCreditsOptions<unknown, unknown>> = {
  product: true,
  meter: true,
  quantity: true,
  eventKey: true,
  topUpUrl: true,
  metadata: true,
  failMode: true,
  onDenied: true,
};
const reserve: Keys<ReserveRouteOptions<unknown> & { onDenied?: unknown }> = {
  product: true,
  meter: true,
  quantity: true,
  key: true,
  topUpUrl: true,
  failMode: true,
  onDenied: true,
};
const meter: Keys<MeterOptions<unknown, unknown>> = { product: true, meter: true, quantity: true, when: true, meterAborted: true, metadata: true };

/** Every key of the options all adapters share; a binding adds its own (Binding.optionKeys). */
const ADAPTER_OPTION_KEYS = Object.keys({ accountRefId: true, onDenied: true, resolverError: true } satisfies Keys<AdapterOptions<unknown, unknown>>);

/** Per middleware, every key its options may have. */
export const ROUTE_OPTION_KEYS = {
  requireTier: Object.keys(tier),
  requireEntitlement: Object.keys(entitlement),
  chargeCredits: Object.keys(charge),
  reserveCredits: Object.keys(reserve),
  meterUsage: Object.keys(meter),
} as const satisfies Record<string, readonly string[]>;

/** The same without `onDenied`, for adapters whose routes answer denials their own way (Nest). */
export const withoutOnDenied = (keys: readonly string[]): string[] => keys.filter((k) => k !== 'onDenied');

/** How a resolver that throws or rejects is answered; see AdapterOptions.resolverError. */
export type ResolverErrorPolicy = 'deny' | 'throw';

/**
 * The `report` handed to resolveAccount: under 'deny' the error goes to the gate's onError and the
 * request is answered 401 account_unresolved; under 'throw' it is rethrown to the framework's
 * error path. Never an allow either way.
 */
function resolverReport(gate: Gate, policy: unknown, adapter: string): (err: unknown) => void {
  if (policy === undefined || policy === 'deny') return (err) => gate.reportError(err);
  if (policy === 'throw')
    return (err) => {
      throw err;
    };
  throw new OptionsError(`ecom9-gate: ${adapter} option "resolverError" must be 'deny' or 'throw'`);
}

/**
 * Every middleware's per-route options pass here, once, when the middleware is made: an unknown key
 * (`subscripton`) throws an OptionsError naming it and the nearest known key, since a dropped
 * restriction would let the route answer accounts it should deny.
 */
function routeOptions<O extends object>(adapter: string, middleware: keyof typeof ROUTE_OPTION_KEYS, opts: O | undefined): O {
  if (opts === undefined) return {} as O;
  if (typeof opts !== 'object' || opts === null) throw new OptionsError(`ecom9-gate: ${adapter} ${middleware} options must be an object`);
  checkKnownKeys(`${adapter} ${middleware}`, opts, ROUTE_OPTION_KEYS[middleware]);
  return opts;
}

/** The middlewares of one adapter, and what its other routes (account routes, webhooks) share with them. */
export function buildMiddlewares<S extends Shape>(
  gate: Gate,
  options: AdapterOptions<S['req'], S['denied']>,
  b: Binding<S>,
): GateMiddlewares<S['mw'], S['req'], S['denied'], S['meterRes']> {
  checkAdapterOptions(b.adapter, gate, options?.accountRefId);
  checkKnownKeys(b.adapter, options, [...ADAPTER_OPTION_KEYS, ...(b.optionKeys ?? [])]);
  const resolver = options.accountRefId;
  const report = resolverReport(gate, options.resolverError, b.adapter);
  const routeOf = (req: S['req']): string => b.route(req);

  /** How an allowed request goes on: to the route (b.next), or to it with a hook on its end (reserveCredits). */
  type GoOn = (req: S['req'], res: S['res'], next: S['next'], state: Ecom9State) => S['out'];

  /** Records the state for the route, then goes on or answers the denial. */
  const settle = (req: S['req'], res: S['res'], next: S['next'], state: Ecom9State, onDenied: S['denied'] | undefined, goOn?: GoOn): S['out'] => {
    b.setState(req, mergeState(b.state(req), state));
    const decision = state.decision as Exclude<Ecom9State['decision'], undefined>;
    if (decision.allowed) return goOn ? goOn(req, res, next, state) : b.next(req, res, next);
    if (onDenied) return b.onDenied(onDenied, req, res, next, decision);
    return deny(req, res, next, decision);
  };
  const deny = (req: S['req'], res: S['res'], next: S['next'], d: DeniedDecision): S['out'] => {
    if (b.deny) return b.deny(req, res, next, d);
    const { status, headers, body } = denialResponse(d);
    return b.send(req, res, next, { status, headers, body: JSON.stringify(body) });
  };

  // Synchronous while the guard is (a synchronous resolver and a warm cache): no promise at all.
  const guardedRun = (guard: Guard<S['req']>, onDenied: S['denied'] | undefined, goOn?: GoOn): Run<S> => {
    return (req, res, next) => {
      let out: ReturnType<Guard<S['req']>>;
      try {
        out = guard(req);
      } catch (err) {
        return b.fail(req, res, next, err);
      }
      if (!isPromise(out)) return settle(req, res, next, out, onDenied, goOn);
      return out.then(
        (state) => settle(req, res, next, state, onDenied, goOn),
        (err: unknown) => b.fail(req, res, next, err),
      );
    };
  };
  const guarded = (guard: Guard<S['req']>, onDenied: S['denied'] | undefined, name: string, goOn?: GoOn): S['mw'] =>
    b.middleware(guardedRun(guard, onDenied, goOn), name);

  /**
   * On a runtime that stops a request's work when its waitUntil ends (a Worker): the request's
   * waitUntil holds until the response is finished and the usage queue is flushed, so no event of
   * this request is left in memory for a later request (which may never come) to carry.
   */
  function meteredWithin(
    meter: MeterFinished<S['req'], S['meterRes']>,
    waitUntil: (p: Promise<unknown>) => void,
    req: S['req'],
    res: S['res'],
    next: S['next'],
  ): S['out'] {
    let finished!: () => void;
    waitUntil(new Promise<void>((resolve) => (finished = resolve)).then(() => gate.flush()));
    // The meter as it is (its journal hook before the last bytes included), then the end of the wait.
    const recorded: Finished<S['req'], S['meterRes']> = Object.assign(
      (...args: Parameters<MeterFinished<S['req'], S['meterRes']>>) => {
        const later = meter(...args);
        if (isPromise(later)) void later.then(finished, finished);
        else finished();
      },
      { sending: meter.sending, keepBody: meter.keepBody },
    );
    try {
      const out = b.finished(req, res, next, recorded);
      // A handler that fails never finishes a response: nothing to wait for.
      if (isPromise(out)) out.then(undefined, finished);
      return out;
    } catch (err) {
      finished();
      throw err;
    }
  }

  return {
    gated(req) {
      const state = b.state(req);
      if (state) return state;
      throw new ArgumentError(
        `ecom9-gate: ${b.adapter} gated(req): no ecom9 middleware ran for this request; put requireTier, requireEntitlement, chargeCredits or meterUsage before the handler`,
      );
    },
    requireTier(tiers: string | readonly string[] | undefined, o?: RequireTierOptions<S['denied']>) {
      const { onDenied, ...check } = routeOptions(b.adapter, 'requireTier', o);
      return guarded(tierGuard(gate, resolver, report, tiers, check, routeOf), onDenied ?? options.onDenied, 'requireTier');
    },
    requireEntitlement(product, entitlement, o) {
      const { onDenied, ...check } = routeOptions(b.adapter, 'requireEntitlement', o);
      const guard = entitlementGuard(gate, resolver, report, { ...check, product, entitlement }, routeOf);
      return guarded(guard, onDenied ?? options.onDenied, 'requireEntitlement');
    },
    chargeCredits(o) {
      const opts = routeOptions(b.adapter, 'chargeCredits', o);
      const charge = chargeGuard(gate, resolver, report, opts);
      const onDenied = opts.onDenied ?? options.onDenied;
      const plain = guardedRun((req) => charge(req, { idempotencyKey: undefined, route: b.route(req) }), onDenied);
      // A request with an Idempotency-Key takes the keyed path (claim, replay, or run and keep its
      // response); one without it the plain one, unchanged.
      const keyed = idempotentCharge(gate, b, resolver, report, charge, { settle, deny, onDenied }, opts);
      return b.middleware((req, res, next) => {
        const header = b.header(req, 'idempotency-key');
        return header === undefined ? plain(req, res, next) : keyed(req, res, next, header);
      }, 'chargeCredits');
    },
    reserveCredits(o) {
      const { onDenied, ...reserveOpts } = routeOptions(b.adapter, 'reserveCredits', o);
      const reserve = reserveGuard(gate, resolver, report, reserveOpts);
      const guard: Guard<S['req']> = (req) => reserve(req, { idempotencyKey: undefined, route: b.route(req) });
      // What the handler used is charged once the response is finished or its client left (its own
      // hold: a second reserveCredits on the route replaces state.hold). A debit that fails is
      // reported by the gate (HoldChargeError) and retried from the journal or at expiry.
      const goOn: GoOn = (req, res, next, state) => {
        const hold = state.hold;
        return hold ? b.finished(req, res, next, () => void hold.settle().catch(() => {})) : b.next(req, res, next);
      };
      const denied = onDenied ?? options.onDenied;
      const plain = guardedRun(guard, denied, goOn);
      // With an Idempotency-Key, the same rules as chargeCredits: claimed first, a reuse replayed or refused.
      const keyed = idempotentCharge(gate, b, resolver, report, reserve, { settle, deny, onDenied: denied }, { ...reserveOpts, kind: 'reserve' });
      return b.middleware((req, res, next) => {
        const header = b.header(req, 'idempotency-key');
        return header === undefined ? plain(req, res, next) : keyed(req, res, next, header);
      }, 'reserveCredits');
    },
    meterUsage(o) {
      const opts = routeOptions(b.adapter, 'meterUsage', o);
      // A keyed request's key and fingerprint, taken as it came in: the response hook reads them here
      // instead of reading the header again, and a route no key ever reached not even that.
      const keyed = new WeakMap<object, { key: string; fp: string }>();
      let anyKeyed = false;
      const meter = meterGuard<S['req'], S['meterRes']>(gate, resolver, (err) => gate.reportError(err), opts, {
        knownRef: (req) => b.state(req)?.accountRefId,
        idempotencyKey: (req) => (anyKeyed ? keyed.get(req as object)?.key : undefined),
        route: (req) => b.route(req),
        fingerprint: (req) => (anyKeyed ? keyed.get(req as object)?.fp : undefined),
      });
      // Made once, not per request: a metered request allocates only what its response hook needs.
      const go = (req: S['req'], res: S['res'], next: S['next']): S['out'] => {
        const waitUntil = b.waitUntil?.(req, res);
        return waitUntil ? meteredWithin(meter, waitUntil, req, res, next) : b.finished(req, res, next, meter);
      };
      return b.middleware((req, res, next) => {
        const key = b.header(req, 'idempotency-key');
        if (key === undefined) return go(req, res, next);
        // Keyed: the request's fingerprint is taken before the route reads its body, so another
        // request under the same key is metered on its own and an identical retry once.
        return fingerprintOf(b, req, res).then(
          (fp) => {
            keyed.set(req as object, { key, fp });
            anyKeyed = true;
            return go(req, res, next);
          },
          (err: unknown) => b.fail(req, res, next, err),
        );
      }, 'meterUsage');
    },
  };
}
