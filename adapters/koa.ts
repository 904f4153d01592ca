// Koa adapter: middleware built once, state in ctx.state.ecom9, denials as problem+json, errors thrown.
import type { Context, Middleware, Next } from 'koa';
import type { Decision, Gate } from '../src/index';
import type { AdapterOptions, PerRouteOptions } from '../src/middleware/adapter-options';
import {
  chargeGuard,
  checkAdapterOptions,
  checkFactories,
  denialResponse,
  mergeState,
  type ChargeOptions,
  type Ecom9State,
  type Guard,
} from '../src/middleware/guards';
import { meterGuard, type MeterOptions } from '../src/middleware/meter';
import {
  checkWebhookPath,
  webhookHandlers,
  webhookPrecheck,
  webhookRejection,
  type WebhookRejection,
  type WebhookRouterOptions,
} from '../src/middleware/webhook-route';
import { readSignedBody } from '../src/middleware/raw-body';

declare module 'koa' {
  interface DefaultState {
    /** Set by every ecom9 middleware on the route. */
    ecom9: Ecom9State;
  }
}

export type KoaDeniedHandler = (ctx: Context, decision: Decision, next: Next) => unknown;

export interface KoaGateOptions extends AdapterOptions<Context, KoaDeniedHandler> {}

type PerRoute = PerRouteOptions<KoaDeniedHandler>;

function sendDenial(ctx: Context, decision: Decision): void {
  const { status, headers, body } = denialResponse(decision);
  ctx.status = status;
  ctx.set(headers);
  ctx.body = JSON.stringify(body);
  ctx.type = headers['content-type'] as string;
}

function sendRejection(ctx: Context, r: WebhookRejection): void {
  ctx.status = r.status;
  ctx.set(r.headers);
  ctx.body = r.body;
}

// koa-router (and @koa/router) leave the matched pattern here; the raw path is the fallback.
const routeOf = (ctx: Context): string => `${ctx.method} ${(ctx as { _matchedRoute?: string })._matchedRoute ?? ctx.path}`;

const meterReaders = {
  knownRef: (ctx: Context) => ctx.state.ecom9?.accountRefId,
  idempotencyKey: (ctx: Context) => ctx.get('idempotency-key') || undefined,
  route: routeOf,
};

/** Records the state for the handler, then passes on or answers the denial. */
function settle(ctx: Context, next: Next, state: Ecom9State, onDenied: KoaDeniedHandler | undefined): unknown {
  ctx.state.ecom9 = mergeState(ctx.state.ecom9, state);
  const decision = state.decision as Decision;
  if (decision.allowed) return next();
  if (onDenied) return onDenied(ctx, decision, next);
  sendDenial(ctx, decision);
  return undefined;
}

import { accountRoutesCore, checkPrefix, type AccountRoutesOptions } from '../src/middleware/account-routes';
import { serveNode, underPrefix } from '../src/middleware/account-routes-io';

export function koaGate(gate: Gate, options: KoaGateOptions) {
  checkAdapterOptions('koaGate', gate, options?.accountRefId);
  const report = (err: unknown) => gate.reportError(err);
  const resolver = options.accountRefId;

  const guarded =
    (guard: Guard<Context>, onDenied = options.onDenied): Middleware =>
    (ctx, next) => {
      const out = guard(ctx);
      if (out instanceof Promise) return out.then((state) => settle(ctx, next, state, onDenied));
      return settle(ctx, next, out, onDenied) as Promise<void>;
    };

  return {
    ...checkFactories(gate, resolver, report, guarded),

    chargeCredits(opts: ChargeOptions<Context> & PerRoute): Middleware {
      const charge = chargeGuard(gate, resolver, report, opts);
      const onDenied = opts.onDenied ?? options.onDenied;
      return async (ctx, next) => {
        const state = await charge(ctx, { idempotencyKey: ctx.get('idempotency-key') || undefined, route: routeOf(ctx) });
        await settle(ctx, next, state, onDenied);
      };
    },

    meterUsage(opts: MeterOptions<Context, Context>): Middleware {
      const meter = meterGuard(gate, resolver, report, opts, meterReaders);
      return (ctx, next) => {
        meter(ctx, ctx, ctx.res);
        return next();
      };
    },

    /** Read-only routes for the signed-in account under `prefix` (default '/api/ecom9'), for the browser. */
    accountRoutes(opts: AccountRoutesOptions = {}): Middleware {
      const prefix = checkPrefix(opts?.prefix, '/api/ecom9');
      const core = accountRoutesCore(gate, resolver, opts);
      return (ctx, next) => {
        const sub = underPrefix(ctx.path, prefix);
        if (sub === undefined) return next();
        ctx.respond = false; // written to ctx.res directly: an events stream stays open
        return serveNode(core, ctx, ctx.method, `${sub}?${ctx.querystring}`, ctx.res, report);
      };
    },

    /** Middleware that answers ecom9's webhooks on `path`; put it before any body parser. */
    webhookRouter(opts: WebhookRouterOptions & { path: string }): Middleware {
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

export type KoaGate = ReturnType<typeof koaGate>;
export type { Ecom9State };
