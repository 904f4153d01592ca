// Web-standard adapter: each guard wraps a `(req: Request, ...rest) => Response` handler (Next.js
// route handlers and proxy, Bun.serve, Deno.serve, Cloudflare-style workers). Translation only.
import type { Decision, EntitlementCheckOptions, Gate, TierCheckOptions } from '../src/index';
import {
  chargeGuard,
  checkAdapterOptions,
  entitlementGuard,
  isPromise,
  mergeState,
  tierGuard,
  type ChargeOptions,
  type Ecom9State,
  type Guard,
} from '../src/middleware/guards';
import type { AdapterOptions, PerRouteOptions } from '../src/middleware/adapter-options';
import type { MeterOptions } from '../src/middleware/meter';
import { denial, internalError, isRequest, rethrow, webhookEndpoint, webMeter } from '../src/middleware/web';
import type { WebhookRouterOptions } from '../src/middleware/webhook-route';
import { accountRoutesCore, checkPrefix, type AccountRoutesOptions } from '../src/middleware/account-routes';
import { serveWeb } from '../src/middleware/account-routes-io';
import { ArgumentError } from '../src/shared/errors';

/** Answers a denial instead; `next()` runs the handler anyway (its state holds the denial). */
export type FetchDeniedHandler = (req: Request, decision: Decision, next: () => Response | Promise<Response>) => Response | Promise<Response>;

/** `accountRefId` gets the Request, e.g. `(req) => req.headers.get('x-org-id')`. */
export interface FetchGateOptions extends AdapterOptions<Request, FetchDeniedHandler> {}

type PerRoute = PerRouteOptions<FetchDeniedHandler>;
type Stateful = Request & { [key: symbol]: Ecom9State | undefined };

/** A guard: takes a handler, returns one of the same shape (`export const GET = ecom9.requireTier('pro')(handler)`). */
export type FetchGuard = <R extends Request, A extends unknown[]>(
  handler: (req: R, ...rest: A) => Response | Promise<Response>,
) => (req: R, ...rest: A) => Response | Promise<Response>;

// No router to ask: the path stands for the route, so an Idempotency-Key is scoped to the URL path.
const routeOf = (req: Request): string => `${req.method} ${new URL(req.url).pathname}`;
const idempotencyKeyOf = (req: Request): string | undefined => req.headers.get('idempotency-key') || undefined;

function notARequest(name: string): TypeError {
  return new ArgumentError(`ecom9-gate: fetchGate ${name}() wrapped a handler that was called without a Request as its first argument`);
}

export function fetchGate(gate: Gate, options: FetchGateOptions) {
  checkAdapterOptions('fetchGate', gate, options?.accountRefId);
  const resolver = options.accountRefId;
  // The state rides on the request under this gate's own symbol. A WeakMap alone costs microseconds
  // per new request under load (young GCs rescan its ephemeron table); it only holds the requests
  // that cannot take a property (frozen ones).
  const key = Symbol('ecom9-gate state');
  const frozen = new WeakMap<Request, Ecom9State>();
  const stateOf = (req: Request): Ecom9State | undefined => (req as Stateful)[key] ?? frozen.get(req);
  const keep = (req: Request, s: Ecom9State): void => {
    if (Object.isExtensible(req)) (req as Stateful)[key] = s;
    else frozen.set(req, s);
  };
  // A resolver that throws (or any other failure of the check) answers 500, reported, never an allow.
  const failed = (err: unknown): Response => {
    gate.reportError(err);
    return internalError();
  };

  function wrap(name: string, guard: Guard<Request>, onDenied = options.onDenied): FetchGuard {
    return <R extends Request, A extends unknown[]>(handler: (req: R, ...rest: A) => Response | Promise<Response>) => {
      // Made once per route, not per request. Past the check, errors are the handler's or
      // onDenied's own: they reach the framework as thrown.
      const settle = (req: R, rest: A, state: Ecom9State): Response | Promise<Response> => {
        keep(req, mergeState(stateOf(req), state));
        const decision = state.decision as Decision;
        if (decision.allowed) return handler(req, ...rest);
        if (onDenied) return onDenied(req, decision, () => handler(req, ...rest));
        return denial(decision);
      };
      return (req: R, ...rest: A) => {
        if (!isRequest(req)) throw notARequest(name);
        let out: ReturnType<Guard<Request>>;
        try {
          out = guard(req);
        } catch (err) {
          return failed(err);
        }
        return isPromise(out) ? out.then((state) => settle(req, rest, state), failed) : settle(req, rest, out);
      };
    };
  }

  return {
    /** Only accounts with an active subscription on one of `tiers` (or `atLeast` and above) pass. */
    requireTier: (tiers: string | readonly string[], opts: Omit<TierCheckOptions, 'tiers'> & PerRoute = {}): FetchGuard =>
      wrap('requireTier', tierGuard(gate, resolver, rethrow, tiers, opts), opts.onDenied),

    /** Only accounts that hold `entitlement` of `product` pass. */
    requireEntitlement: (product: string, entitlement: string, opts: Omit<EntitlementCheckOptions, 'product' | 'entitlement'> & PerRoute = {}): FetchGuard =>
      wrap('requireEntitlement', entitlementGuard(gate, resolver, rethrow, { ...opts, product, entitlement }), opts.onDenied),

    /** Debits before the handler runs; a retry with the same Idempotency-Key (same account and path) is charged once. */
    chargeCredits(opts: ChargeOptions<Request> & PerRoute): FetchGuard {
      const charge = chargeGuard(gate, resolver, rethrow, opts);
      return wrap('chargeCredits', (req) => charge(req, { idempotencyKey: idempotencyKeyOf(req), route: routeOf(req) }), opts.onDenied);
    },

    /** Records one usage event per successful Response, once its body has been sent to the end. */
    meterUsage(opts: MeterOptions<Request, Response>): FetchGuard {
      const meter = webMeter(
        gate,
        resolver,
        opts,
        { knownRef: (req) => stateOf(req)?.accountRefId, idempotencyKey: idempotencyKeyOf, route: routeOf },
        (req) => req.signal,
      );
      return (handler) =>
        (req, ...rest) => {
          if (!isRequest(req)) throw notARequest('meterUsage');
          const out = handler(req, ...rest);
          return isPromise(out) ? out.then((res) => meter(req, res, res)) : meter(req, out, out);
        };
    },

    /** The state of a request that went through a guard of this fetchGate, else undefined. */
    state: (req: Request): Ecom9State | undefined => (isRequest(req) ? stateOf(req) : undefined),

    /** Read-only routes for the signed-in account under `prefix` (default '/api/ecom9'), for the browser. */
    accountRoutes(opts: AccountRoutesOptions = {}): (req: Request) => Promise<Response> {
      const prefix = checkPrefix(opts?.prefix, '/api/ecom9');
      const core = accountRoutesCore(gate, resolver, opts);
      return (req) => serveWeb(core, req, req, prefix, (err) => gate.reportError(err));
    },

    /** ecom9's webhooks: `export const POST = ecom9.webhookHandler()`. Reads the raw bytes itself (64 KiB). */
    webhookHandler: (opts: WebhookRouterOptions = {}): ((req: Request) => Promise<Response>) => webhookEndpoint(gate, opts),
  };
}

export type FetchGate = ReturnType<typeof fetchGate>;
export type { Ecom9State };
