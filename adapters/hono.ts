// Hono adapter: its binding over the shared builder (src/middleware/builder.ts), the state as a
// context variable (c.get('ecom9')), the account routes and the webhook handler, on Node, Bun, Deno
// or an edge runtime. Errors are thrown to Hono's onError.
import { Hono, type Context, type Handler } from 'hono';
import { routePath } from 'hono/route';
import type { Gate } from '../src/index';
import type { AdapterOptions } from '../src/middleware/adapter-options';
import { buildMiddlewares, type GateMiddlewares } from '../src/middleware/builder';
import type { Ecom9State } from '../src/middleware/guards';
import { webhookEndpoint } from '../src/middleware/web';
import { honoBinding, outgoingOf, type HonoDeniedHandler, type HonoGateMiddleware } from './hono/binding';
import type { WebhookRouterOptions } from '../src/middleware/webhook-route';
import { accountRoutesCore, type AccountRoutesOptions } from '../src/middleware/account-routes';
import { serveWeb } from '../src/middleware/account-routes-io';

declare module 'hono' {
  interface ContextVariableMap {
    /**
     * Set by every ecom9 middleware on the route; undefined on a route without one. A handler
     * registered with an ecom9 middleware reads it typed as present (the middleware's Env says so).
     */
    ecom9: Ecom9State | undefined;
  }
}

/** `accountRefId` gets Hono's Context, e.g. `(c) => c.get('user')?.orgId`. */
export interface HonoGateOptions extends AdapterOptions<Context, HonoDeniedHandler> {}

/** What honoGate returns: the four gating middlewares, the account routes and the webhook handler. */
export interface HonoGate extends GateMiddlewares<HonoGateMiddleware, Context, HonoDeniedHandler, Context> {
  /** Read-only routes for the signed-in account, for the browser: `app.route('/api/ecom9', h.accountRoutes())`. */
  accountRoutes(opts?: Omit<AccountRoutesOptions, 'prefix'>): Hono;
  /** ecom9's webhooks: `app.all('/webhooks/ecom9', h.webhookHandler())` (405 to anything but POST). */
  webhookHandler(opts?: WebhookRouterOptions): Handler;
}

export function honoGate(gate: Gate, options: HonoGateOptions): HonoGate {
  return {
    ...buildMiddlewares(gate, options, honoBinding),

    accountRoutes(opts = {}) {
      const core = accountRoutesCore(gate, options.accountRefId, opts);
      // Where it was mounted ('/api/ecom9/*' for this catch-all) is the prefix.
      return new Hono().all('*', (c) => serveWeb(core, c, c.req.raw, routePath(c).replace(/\/?\*$/, ''), (err) => gate.reportError(err), outgoingOf(c)));
    },

    webhookHandler(opts = {}) {
      const endpoint = webhookEndpoint(gate, opts);
      return (c) => endpoint(c.req.raw);
    },
  };
}

export type { Ecom9State, HonoDeniedHandler, HonoGateMiddleware };
// Every core type (src/types.ts), so a type this subpath's signatures name (and what those name in
// turn) is imported from here as from ecom9-gate.
export type * from '../src/types';
