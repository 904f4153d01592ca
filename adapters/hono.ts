// Hono adapter: its binding over the shared builder (src/middleware/builder.ts), the state as a
// context variable (c.get('ecom9')), the account routes and the webhook handler, on Node, Bun, Deno
// or an edge runtime. Errors are thrown to Hono's onError.
import { Hono, type Context, type Handler, type MiddlewareHandler, type Next } from 'hono';
import { createMiddleware } from 'hono/factory';
import { routePath } from 'hono/route';
import type { DeniedDecision, Gate } from '../src/index';
import type { AdapterOptions } from '../src/middleware/adapter-options';
import type { Binding } from '../src/middleware/binding';
import { buildMiddlewares, type GateMiddlewares } from '../src/middleware/builder';
import { isNodeResponse, onNodeFinished, onWebFinished } from '../src/middleware/finished';
import type { Ecom9State } from '../src/middleware/guards';
import { answerResponse, webhookEndpoint } from '../src/middleware/web';
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
export type HonoDeniedHandler = (c: Context, decision: DeniedDecision, next: Next) => unknown;

/** `accountRefId` gets Hono's Context, e.g. `(c) => c.get('user')?.orgId`. */
export interface HonoGateOptions extends AdapterOptions<Context, HonoDeniedHandler> {}

/** What honoGate returns: the four gating middlewares, the account routes and the webhook handler. */
export interface HonoGate extends GateMiddlewares<MiddlewareHandler, Context, HonoDeniedHandler, Context> {
  /** Read-only routes for the signed-in account, for the browser: `app.route('/api/ecom9', h.accountRoutes())`. */
  accountRoutes(opts?: Omit<AccountRoutesOptions, 'prefix'>): Hono;
  /** ecom9's webhooks: `app.all('/webhooks/ecom9', h.webhookHandler())` (405 to anything but POST). */
  webhookHandler(opts?: WebhookRouterOptions): Handler;
}

interface HonoShape {
  req: Context;
  res: Context;
  next: Next;
  out: unknown;
  mw: MiddlewareHandler;
  denied: HonoDeniedHandler;
  meterRes: Context;
}

/** @hono/node-server's Node response (`c.env.outgoing`), when served by it. */
const outgoingOf = (c: Context): unknown => (c.env as { outgoing?: unknown } | undefined)?.outgoing;

const binding: Binding<HonoShape> = {
  adapter: 'honoGate',
  header: (c, name) => c.req.header(name) || undefined,
  // The path the middleware was registered with ('/images/:n'), not the URL: after next(), the route that answered.
  route: (c) => `${c.req.method} ${routePath(c)}`,
  state: (c) => c.get('ecom9'),
  setState: (c, s) => c.set('ecom9', s),
  middleware: (run) => createMiddleware(async (c, next) => ((await run(c, c, next)) ?? undefined) as Response | undefined),
  next: (_c, _res, next) => next(),
  send: (_c, _res, _next, a) => answerResponse(a),
  onDenied: (handler, c, _res, next, d) => handler(c, d, next),
  fail: (_c, _res, _next, err) => {
    throw err;
  },
  // On @hono/node-server the Node response says when it is finished; elsewhere the Response's body is watched.
  finished: (c, _res, next, done) => {
    const outgoing = outgoingOf(c);
    if (isNodeResponse(outgoing)) {
      onNodeFinished(outgoing, done, c, c);
      return next();
    }
    return next().then(() => {
      const res = onWebFinished(c.res, c.req.raw.signal, done, c, c);
      if (res !== c.res) c.res = res;
    });
  },
  waitUntil: (c) => {
    try {
      const ctx = c.executionCtx;
      return (p) => ctx.waitUntil(p);
    } catch {
      return undefined; // no execution context outside a Worker-like runtime
    }
  },
};

export function honoGate(gate: Gate, options: HonoGateOptions): HonoGate {
  return {
    ...buildMiddlewares(gate, options, binding),

    accountRoutes(opts = {}) {
      const core = accountRoutesCore(gate, options.accountRefId, opts);
      // Where it was mounted ('/api/ecom9/*' for this catch-all) is the prefix.
      return new Hono().all('*', (c) => serveWeb(core, c, c.req.raw, routePath(c).replace(/\/?\*$/, ''), (err) => gate.reportError(err)));
    },

    webhookHandler(opts = {}) {
      const endpoint = webhookEndpoint(gate, opts);
      return (c) => endpoint(c.req.raw);
    },
  };
}

export type { Ecom9State };
