// Koa's binding for the shared builder (src/middleware/builder.ts): how Koa reads a request, goes
// on, answers (errors are thrown), and tells when a response is finished.
import type { Context, Middleware, Next } from 'koa';
import type { DeniedDecision } from '../../src/gate/decision';
import type { Binding } from '../../src/middleware/binding';
import { onNodeFinished } from '../../src/middleware/finished';
import { nodeBody } from '../../src/middleware/request-body';

/** Answers a denial instead (set ctx.body); `next()` runs the route anyway (its state holds the denial). */
export type KoaDeniedHandler = (ctx: Context, decision: DeniedDecision, next: Next) => unknown;

export interface KoaShape {
  req: Context;
  res: Context;
  next: Next;
  out: unknown;
  mw: Middleware;
  denied: KoaDeniedHandler;
  meterRes: Context;
}

export const koaBinding: Binding<KoaShape> = {
  adapter: 'koaGate',
  header: (ctx, name) => ctx.get(name) || undefined,
  // koa-router (and @koa/router) leave the matched pattern here; the raw path is the fallback.
  route: (ctx) => `${ctx.method} ${(ctx as { _matchedRoute?: string })._matchedRoute ?? ctx.path}`,
  target: (ctx) => `${ctx.method} ${ctx.originalUrl}`,
  // A body parser's raw text when it keeps one (koa-bodyparser's rawBody), else its value, else the unread stream.
  body: (ctx) => {
    const r = ctx.request as { rawBody?: unknown; body?: unknown };
    return nodeBody(ctx.req, r.rawBody ?? r.body);
  },
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
