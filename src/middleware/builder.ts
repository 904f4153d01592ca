// Makes every gating middleware of an adapter from its binding (binding.ts): requireTier,
// requireEntitlement, chargeCredits and meterUsage exist once, here, for all six frameworks.
import type { EntitlementCheckOptions } from '../gate/access';
import type { Gate } from '../gate/create-gate';
import type { DeniedDecision } from '../gate/decision';
import type { TierCheckOptions } from '../gate/tier-rule';
import { OptionsError } from '../shared/errors';
import type { AdapterOptions } from './adapter-options';
import type { Binding, Run, Shape } from './binding';
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
import { meterGuard, type MeterOptions } from './meter';
import { reserveGuard, type ReserveRouteOptions } from './reserve';

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
  const guarded = (guard: Guard<S['req']>, onDenied: S['denied'] | undefined, name: string, goOn?: GoOn): S['mw'] => {
    const run: Run<S> = (req, res, next) => {
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
    return b.middleware(run, name);
  };

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
    reserveCredits(o) {
      const { onDenied, ...reserveOpts } = routeOptions(b.adapter, 'reserveCredits', o);
      const reserve = reserveGuard(gate, resolver, report, reserveOpts);
      const guard: Guard<S['req']> = (req) => reserve(req, { idempotencyKey: b.header(req, 'idempotency-key'), route: b.route(req) });
      // What the handler used is charged once the response is finished or its client left (its own
      // hold: a second reserveCredits on the route replaces state.hold). A debit that fails is
      // reported by the gate (HoldChargeError) and retried from the journal or at expiry.
      const goOn: GoOn = (req, res, next, state) => {
        const hold = state.hold;
        return hold ? b.finished(req, res, next, () => void hold.settle().catch(() => {})) : b.next(req, res, next);
      };
      return guarded(guard, onDenied ?? options.onDenied, 'reserveCredits', goOn);
    },
    meterUsage(o) {
      const opts = routeOptions(b.adapter, 'meterUsage', o);
      const meter = meterGuard<S['req'], S['meterRes']>(gate, resolver, (err) => gate.reportError(err), opts, {
        knownRef: (req) => b.state(req)?.accountRefId,
        idempotencyKey: (req) => b.header(req, 'idempotency-key'),
        route: (req) => b.route(req),
      });
      return b.middleware((req, res, next) => b.finished(req, res, next, meter), 'meterUsage');
    },
  };
}
