// Hono adapter: middleware for the four guards (state at c.get('ecom9')) and a webhook handler, on
// Node, Bun, Deno or an edge runtime. Errors are thrown to Hono's onError. Translation only.
import { Hono, type Context, type Handler, type MiddlewareHandler, type Next } from 'hono';
import { createMiddleware } from 'hono/factory';
import { routePath } from 'hono/route';
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
import { denial, rethrow, webhookEndpoint, webMeter } from '../src/middleware/web';
import type { WebhookRouterOptions } from '../src/middleware/webhook-route';
import { accountRoutesCore, type AccountRoutesOptions } from '../src/middleware/account-routes';
import { serveWeb } from '../src/middleware/account-routes-io';

declare module 'hono' {
  interface ContextVariableMap {
    /** Set by every ecom9 middleware on the route. */
    ecom9: Ecom9State;
  }
}

/** Answers a denial instead (return a Response); `await next()` runs the route anyway (its state holds the denial). */
export type HonoDeniedHandler = (c: Context, decision: Decision, next: Next) => unknown;

/** `accountRefId` gets Hono's Context, e.g. `(c) => c.get('user')?.orgId`. */
export interface HonoGateOptions extends AdapterOptions<Context, HonoDeniedHandler> {}

type PerRoute = PerRouteOptions<HonoDeniedHandler>;

// The path the middleware was registered with ('/images/:n'), not the URL: after next(), the route that answered.
const routeOf = (c: Context): string => `${c.req.method} ${routePath(c)}`;
const idempotencyKeyOf = (c: Context): string | undefined => c.req.header('idempotency-key') || undefined;

export function honoGate(gate: Gate, options: HonoGateOptions) {
  checkAdapterOptions('honoGate', gate, options?.accountRefId);
  const resolver = options.accountRefId;

  /** Records the state for the route, then goes on or answers the denial. */
  function settle(c: Context, next: Next, state: Ecom9State, onDenied: HonoDeniedHandler | undefined) {
    c.set('ecom9', mergeState(c.get('ecom9'), state));
    const decision = state.decision as Decision;
    if (decision.allowed) return next();
    if (onDenied) return onDenied(c, decision, next);
    return denial(decision);
  }

  // A resolver's throw or rejection (rethrown by the guard) goes to Hono's onError, like any error.
  const guarded = (guard: Guard<Context>, onDenied = options.onDenied): MiddlewareHandler =>
    createMiddleware(async (c, next) => {
      const out = guard(c);
      return ((await settle(c, next, isPromise(out) ? await out : out, onDenied)) ?? undefined) as Response | undefined;
    });

  return {
    /** Only accounts with an active subscription on one of `tiers` (or `atLeast` and above) pass. */
    requireTier: (tiers: string | readonly string[], opts: Omit<TierCheckOptions, 'tiers'> & PerRoute = {}): MiddlewareHandler =>
      guarded(tierGuard(gate, resolver, rethrow, tiers, opts), opts.onDenied),

    /** Only accounts that hold `entitlement` of `product` pass. */
    requireEntitlement: (
      product: string,
      entitlement: string,
      opts: Omit<EntitlementCheckOptions, 'product' | 'entitlement'> & PerRoute = {},
    ): MiddlewareHandler => guarded(entitlementGuard(gate, resolver, rethrow, { ...opts, product, entitlement }), opts.onDenied),

    /** Debits before the route runs; a retry with the same Idempotency-Key (same account and route) is charged once. */
    chargeCredits(opts: ChargeOptions<Context> & PerRoute): MiddlewareHandler {
      const charge = chargeGuard(gate, resolver, rethrow, opts);
      return guarded((c) => charge(c, { idempotencyKey: idempotencyKeyOf(c), route: routeOf(c) }), opts.onDenied);
    },

    /** Records one usage event per successful response, once its body has been sent to the end. */
    meterUsage(opts: MeterOptions<Context, Context>): MiddlewareHandler {
      const readers = { knownRef: (c: Context) => c.get('ecom9')?.accountRefId, idempotencyKey: idempotencyKeyOf, route: routeOf };
      const meter = webMeter(gate, resolver, opts, readers, (c) => c.req.raw.signal);
      return createMiddleware(async (c, next) => {
        await next();
        const res = meter(c, c, c.res);
        if (res !== c.res) c.res = res;
      });
    },

    /** Read-only routes for the signed-in account, for the browser: `app.route('/api/ecom9', h.accountRoutes())`. */
    accountRoutes(opts: Omit<AccountRoutesOptions, 'prefix'> = {}): Hono {
      const core = accountRoutesCore(gate, resolver, opts);
      // Where it was mounted ('/api/ecom9/*' for this catch-all) is the prefix.
      return new Hono().all('*', (c) => serveWeb(core, c, c.req.raw, routePath(c).replace(/\/?\*$/, ''), (err) => gate.reportError(err)));
    },

    /** ecom9's webhooks: `app.all('/webhooks/ecom9', h.webhookHandler())` (405 to anything but POST). */
    webhookHandler(opts: WebhookRouterOptions = {}): Handler {
      const endpoint = webhookEndpoint(gate, opts);
      return (c) => endpoint(c.req.raw);
    },
  };
}

export type HonoGate = ReturnType<typeof honoGate>;
export type { Ecom9State };
