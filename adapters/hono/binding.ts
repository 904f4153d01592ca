// Hono's binding for the shared builder (src/middleware/builder.ts): how Hono reads a request, goes
// on, answers (errors are thrown to onError), and tells when a response is finished, on Node
// (@hono/node-server) and on web runtimes.
import type { Context, MiddlewareHandler, Next } from 'hono';
import { createMiddleware } from 'hono/factory';
import { routePath } from 'hono/route';
import type { DeniedDecision } from '../../src/gate/decision';
import type { Binding } from '../../src/middleware/binding';
import { isNodeResponse, onNodeFinished, onWebFinished } from '../../src/middleware/finished';
import { answerResponse } from '../../src/middleware/web';
import { targetOfUrl, webBody } from '../../src/middleware/request-body';
import type { Ecom9State } from '../../src/middleware/guards';

/** Answers a denial instead (return a Response); `await next()` runs the route anyway (its state holds the denial). */
export type HonoDeniedHandler = (c: Context, decision: DeniedDecision, next: Next) => unknown;

/** An ecom9 middleware: a handler registered after it reads `c.get('ecom9')` typed as present. */
export type HonoGateMiddleware = MiddlewareHandler<{ Variables: { ecom9: Ecom9State } }>;

export interface HonoShape {
  req: Context;
  res: Context;
  next: Next;
  out: unknown;
  mw: HonoGateMiddleware;
  denied: HonoDeniedHandler;
  meterRes: Context;
}

/** @hono/node-server's Node response (`c.env.outgoing`), when served by it. */
export const outgoingOf = (c: Context): unknown => (c.env as { outgoing?: unknown } | undefined)?.outgoing;

export const honoBinding: Binding<HonoShape> = {
  adapter: 'honoGate',
  header: (c, name) => c.req.header(name) || undefined,
  // The path the middleware was registered with ('/images/:n'), not the URL: after next(), the route that answered.
  route: (c) => `${c.req.method} ${routePath(c)}`,
  target: (c) => targetOfUrl(c.req.method, c.req.url),
  body: (c) => webBody(c.req.raw),
  state: (c) => c.get('ecom9'),
  setState: (c, s) => c.set('ecom9', s),
  // Not an async function: Hono's compose awaits what a middleware returns (next()'s promise, a
  // Response, or nothing) and catches what it throws, so a wrapper's promise and await per request
  // would only add ticks.
  middleware: (run) => createMiddleware<{ Variables: { ecom9: Ecom9State } }>((c, next) => run(c, c, next) as Promise<Response | undefined>),
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
    // On @hono/node-server there is no execution context, and asking Hono for one throws: an Error
    // (its stack) per metered request cost a third of the route's throughput.
    if (isNodeResponse(outgoingOf(c))) return undefined;
    try {
      const ctx = c.executionCtx;
      return (p) => ctx.waitUntil(p);
    } catch {
      return undefined; // no execution context outside a Worker-like runtime
    }
  },
};
