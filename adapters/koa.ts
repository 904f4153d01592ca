// Koa adapter: its binding over the shared builder (src/middleware/builder.ts), the ctx.state.ecom9
// augmentation, and the path-matched account routes and webhook middleware. Errors are thrown.
import type { Context, Middleware, Next } from 'koa';
import type { DeniedDecision, Gate } from '../src/index';
import type { AdapterOptions } from '../src/middleware/adapter-options';
import type { Binding } from '../src/middleware/binding';
import { buildMiddlewares, type GateMiddlewares } from '../src/middleware/builder';
import { onNodeFinished } from '../src/middleware/finished';
import type { Ecom9State } from '../src/middleware/guards';
import {
  checkWebhookPath,
  webhookHandlers,
  webhookPrecheck,
  webhookRejection,
  type WebhookRejection,
  type WebhookRouterOptions,
} from '../src/middleware/webhook-route';
import { readSignedBody } from '../src/middleware/raw-body';
import { accountRoutesCore, checkPrefix, type AccountRoutesOptions } from '../src/middleware/account-routes';
import { serveNode, underPrefix } from '../src/middleware/account-routes-io';

declare module 'koa' {
  interface DefaultState {
    /** Set by every ecom9 middleware on the route. */
    ecom9: Ecom9State;
  }
}

/** Answers a denial instead (set ctx.body); `next()` runs the route anyway (its state holds the denial). */
export type KoaDeniedHandler = (ctx: Context, decision: DeniedDecision, next: Next) => unknown;

export interface KoaGateOptions extends AdapterOptions<Context, KoaDeniedHandler> {}

/** koaGate's webhookRouter options: the path it answers on, and the handlers. */
export interface KoaWebhookRouterOptions extends WebhookRouterOptions {
  path: string;
}

/** What koaGate returns: the four gating middlewares, the account routes and the webhook middleware. */
export interface KoaGate extends GateMiddlewares<Middleware, Context, KoaDeniedHandler, Context> {
  /** Read-only routes for the signed-in account under `prefix` (default '/api/ecom9'), for the browser. */
  accountRoutes(opts?: AccountRoutesOptions): Middleware;
  /** Middleware that answers ecom9's webhooks on `path`; put it before any body parser. */
  webhookRouter(opts: KoaWebhookRouterOptions): Middleware;
}

interface KoaShape {
  req: Context;
  res: Context;
  next: Next;
  out: unknown;
  mw: Middleware;
  denied: KoaDeniedHandler;
  meterRes: Context;
}

function sendRejection(ctx: Context, r: WebhookRejection): void {
  ctx.status = r.status;
  ctx.set(r.headers);
  ctx.body = r.body;
}

const binding: Binding<KoaShape> = {
  adapter: 'koaGate',
  header: (ctx, name) => ctx.get(name) || undefined,
  // koa-router (and @koa/router) leave the matched pattern here; the raw path is the fallback.
  route: (ctx) => `${ctx.method} ${(ctx as { _matchedRoute?: string })._matchedRoute ?? ctx.path}`,
  state: (ctx) => ctx.state.ecom9,
  setState: (ctx, s) => void (ctx.state.ecom9 = s),
  middleware: (run) => (ctx, next) => run(ctx, ctx, next) as Promise<void>,
  next: (_ctx, _res, next) => next(),
  send: (ctx, _res, _next, a) => {
    ctx.status = a.status;
    ctx.set(a.headers);
    ctx.body = typeof a.body === 'string' ? a.body : Buffer.from(a.body.buffer, a.body.byteOffset, a.body.byteLength);
    if (a.headers['content-type']) ctx.type = a.headers['content-type'];
  },
  onDenied: (handler, ctx, _res, next, d) => handler(ctx, d, next),
  fail: (_ctx, _res, _next, err) => {
    throw err;
  },
  finished: (ctx, _res, next, done) => {
    onNodeFinished(ctx.res, done, ctx, ctx);
    return next();
  },
};

export function koaGate(gate: Gate, options: KoaGateOptions): KoaGate {
  const report = (err: unknown) => gate.reportError(err);
  return {
    ...buildMiddlewares(gate, options, binding),

    accountRoutes(opts = {}) {
      const prefix = checkPrefix(opts?.prefix, '/api/ecom9');
      const core = accountRoutesCore(gate, options.accountRefId, opts);
      return (ctx, next) => {
        const sub = underPrefix(ctx.path, prefix);
        if (sub === undefined) return next();
        ctx.respond = false; // written to ctx.res directly: an events stream stays open
        return serveNode(core, ctx, ctx.method, `${sub}?${ctx.querystring}`, ctx.res, report);
      };
    },

    webhookRouter(opts) {
      checkWebhookPath(opts?.path, 'koa webhookRouter option "path"');
      webhookHandlers(gate, opts);
      return async (ctx, next) => {
        if (ctx.path !== opts.path) return next();
        const early = webhookPrecheck(ctx.method, ctx.req.headers);
        if (early) return sendRejection(ctx, early);
        // A parser that got here first (a parsed body, or a stream already read) is a mount error.
        const raw = await readSignedBody(ctx.req, (ctx.request as { body?: unknown }).body);
        if (raw.tooLarge) return sendRejection(ctx, webhookRejection('size'));
        const { status, body } = await gate.handleWebhook({ rawBody: raw.body, headers: ctx.req.headers });
        ctx.status = status;
        ctx.body = body;
      };
    },
  };
}

export type { Ecom9State };
