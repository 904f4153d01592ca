// Koa adapter: its binding over the shared builder (src/middleware/builder.ts), the ctx.state.ecom9
// augmentation, and the path-matched account routes and webhook middleware. Errors are thrown.
import type { Context, Middleware } from 'koa';
import type { Gate } from '../src/index';
import type { AdapterOptions } from '../src/middleware/adapter-options';
import { buildMiddlewares, type GateMiddlewares } from '../src/middleware/builder';
import type { Ecom9State } from '../src/middleware/guards';
import { koaBinding, type KoaDeniedHandler } from './koa/binding';
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
    /**
     * Set by every ecom9 middleware on the route; undefined on a route without one. Behind a
     * middleware, `k.gated(ctx)` reads it typed as present.
     */
    ecom9?: Ecom9State;
  }
}

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

function sendRejection(ctx: Context, r: WebhookRejection): void {
  ctx.status = r.status;
  ctx.set(r.headers);
  ctx.body = r.body;
}

export function koaGate(gate: Gate, options: KoaGateOptions): KoaGate {
  const report = (err: unknown) => gate.reportError(err);
  return {
    ...buildMiddlewares(gate, options, koaBinding),

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
        const raw = await readSignedBody(ctx.req, (ctx.request as { body?: unknown }).body, gate.webhookBodyTimeoutMs);
        // aborted: the client left, no one to answer and no error of the app's.
        if (raw.failed) return raw.failed === 'timeout' ? sendRejection(ctx, webhookRejection('timeout')) : void (ctx.respond = false);
        if (raw.tooLarge) return sendRejection(ctx, webhookRejection('size'));
        const { status, body } = await gate.handleWebhook({ rawBody: raw.body, headers: ctx.req.headers });
        ctx.status = status;
        ctx.body = body;
      };
    },
  };
}

export type { Ecom9State, KoaDeniedHandler };
// Every core type (src/types.ts), so a type this subpath's signatures name (and what those name in
// turn) is imported from here as from ecom9-gate.
export type * from '../src/types';
