// Makes every gating middleware of an adapter from its binding (binding.ts): requireTier,
// requireEntitlement, chargeCredits and meterUsage exist once, here, for all six frameworks.
import type { EntitlementCheckOptions } from '../gate/access';
import type { Gate } from '../gate/create-gate';
import type { DeniedDecision } from '../gate/decision';
import type { TierCheckOptions } from '../gate/tier-rule';
import { OptionsError } from '../shared/errors';
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

/** The four gating middlewares every adapter has, each returning the framework's middleware `Mw`. */
export interface GateMiddlewares<Mw, Req, Denied, MeterRes> {
  /** Only accounts with an active subscription on one of `tiers` (or `atLeast` and above) pass. */
  requireTier(tiers: string | readonly string[], opts?: RequireTierOptions<Denied>): Mw;
  /** Only accounts that hold `entitlement` of `product` pass. */
  requireEntitlement(product: string, entitlement: string, opts?: RequireEntitlementOptions<Denied>): Mw;
  /** Debits before the route runs (402 when short); a retry with the same Idempotency-Key (same account and route) is charged once. */
  chargeCredits(opts: ChargeCreditsOptions<Req, Denied>): Mw;
  /** Records one usage event per response that counts (status < 400 by default), once it is finished. */
  meterUsage(opts: MeterOptions<Req, MeterRes>): Mw;
}

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
 * Every middleware's per-route options pass here, once, when the middleware is made: the one place
 * a strict schema of each middleware's options belongs.
 */
function routeOptions<O extends object>(adapter: string, middleware: string, opts: O | undefined): O {
  if (opts === undefined) return {} as O;
  if (typeof opts !== 'object' || opts === null) throw new OptionsError(`ecom9-gate: ${adapter} ${middleware} options must be an object`);
  return opts;
}

/** The middlewares of one adapter, and what its other routes (account routes, webhooks) share with them. */
export function buildMiddlewares<S extends Shape>(
  gate: Gate,
  options: AdapterOptions<S['req'], S['denied']>,
  b: Binding<S>,
): GateMiddlewares<S['mw'], S['req'], S['denied'], S['meterRes']> {
  checkAdapterOptions(b.adapter, gate, options?.accountRefId);
  const resolver = options.accountRefId;
  const report = resolverReport(gate, options.resolverError, b.adapter);

  /** Records the state for the route, then goes on or answers the denial. */
  const settle = (req: S['req'], res: S['res'], next: S['next'], state: Ecom9State, onDenied: S['denied'] | undefined): S['out'] => {
    b.setState(req, mergeState(b.state(req), state));
    const decision = state.decision as Exclude<Ecom9State['decision'], undefined>;
    if (decision.allowed) return b.next(req, res, next);
    if (onDenied) return b.onDenied(onDenied, req, res, next, decision);
    return deny(req, res, next, decision);
  };
  const deny = (req: S['req'], res: S['res'], next: S['next'], d: DeniedDecision): S['out'] => {
    if (b.deny) return b.deny(req, res, next, d);
    const { status, headers, body } = denialResponse(d);
    return b.send(req, res, next, { status, headers, body: JSON.stringify(body) });
  };

  // Synchronous while the guard is (a synchronous resolver and a warm cache): no promise at all.
  const guarded = (guard: Guard<S['req']>, onDenied: S['denied'] | undefined, name: string): S['mw'] => {
    const run: Run<S> = (req, res, next) => {
      let out: ReturnType<Guard<S['req']>>;
      try {
        out = guard(req);
      } catch (err) {
        return b.fail(req, res, next, err);
      }
      if (!isPromise(out)) return settle(req, res, next, out, onDenied);
      return out.then(
        (state) => settle(req, res, next, state, onDenied),
        (err: unknown) => b.fail(req, res, next, err),
      );
    };
    return b.middleware(run, name);
  };

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
    const recorded: Finished<S['req'], S['meterRes']> = (rq, rs, status, aborted) => {
      const later = meter(rq, rs, status, aborted);
      if (later) void later.then(finished);
      else finished();
    };
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
    requireTier(tiers, o) {
      const { onDenied, ...check } = routeOptions(b.adapter, 'requireTier', o);
      return guarded(tierGuard(gate, resolver, report, tiers, check), onDenied ?? options.onDenied, 'requireTier');
    },
    requireEntitlement(product, entitlement, o) {
      const { onDenied, ...check } = routeOptions(b.adapter, 'requireEntitlement', o);
      return guarded(entitlementGuard(gate, resolver, report, { ...check, product, entitlement }), onDenied ?? options.onDenied, 'requireEntitlement');
    },
    chargeCredits(o) {
      const opts = routeOptions(b.adapter, 'chargeCredits', o);
      const charge = chargeGuard(gate, resolver, report, opts);
      const guard: Guard<S['req']> = (req) => charge(req, { idempotencyKey: b.header(req, 'idempotency-key'), route: b.route(req) });
      return guarded(guard, opts.onDenied ?? options.onDenied, 'chargeCredits');
    },
    meterUsage(o) {
      const opts = routeOptions(b.adapter, 'meterUsage', o);
      const meter = meterGuard<S['req'], S['meterRes']>(gate, resolver, (err) => gate.reportError(err), opts, {
        knownRef: (req) => b.state(req)?.accountRefId,
        idempotencyKey: (req) => b.header(req, 'idempotency-key'),
        route: (req) => b.route(req),
      });
      return b.middleware((req, res, next) => {
        const waitUntil = b.waitUntil?.(req, res);
        return waitUntil ? meteredWithin(meter, waitUntil, req, res, next) : b.finished(req, res, next, meter);
      }, 'meterUsage');
    },
  };
}
