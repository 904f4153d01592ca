// Nest's binding for the shared builder (src/middleware/builder.ts): a middleware is a step of the
// module's guard (or its interceptor), a denial is thrown as an HttpException for Nest's filters, and
// a response is finished by the platform's Node response.
import { HttpException, StreamableFile, type ExecutionContext } from '@nestjs/common';
import type { DeniedDecision } from '../../src/gate/decision';
import type { Binding, Run } from '../../src/middleware/binding';
import { onNodeFinished } from '../../src/middleware/finished';
import { denialResponse, isPromise } from '../../src/middleware/guards';
import { nodeBody } from '../../src/middleware/request-body';
import type { NestRequest, NestResponse } from './decorators';
import { Ecom9DeniedException, type NestDeniedHandler } from './options';

// A step answers true to go on to the next one (a denial onDenied let through goes on too, as `next()`
// does on every other adapter) and throws a denial; a promise of true while an async onDenied runs.
export interface NestShape {
  req: NestRequest;
  res: ExecutionContext;
  next: undefined;
  out: true | Promise<true>;
  mw: Run<NestShape>;
  denied: NestDeniedHandler;
  meterRes: NestResponse;
}
/** Headers set on the platform's response (Fastify's reply or Express's), so Nest's own filter sends them. */
function setHeaders(ctx: ExecutionContext, headers: Readonly<Record<string, string>>): void {
  const res = ctx.switchToHttp().getResponse();
  for (const [name, value] of Object.entries(headers)) res.raw ? res.header(name, value) : res.setHeader(name, value);
}

const deny = (ctx: ExecutionContext, decision: DeniedDecision): never => {
  const { headers, body } = denialResponse(decision);
  // A filter that reshapes the body sets its own content-type.
  setHeaders(ctx, headers);
  throw new Ecom9DeniedException(decision, headers, body);
};

export const nestBinding: Binding<NestShape> = {
  adapter: 'Ecom9Module',
  optionKeys: ['gate', 'webhookPath', 'webhookHandlers', 'globalGuard'],
  header: (req, name) => (req.headers[name] as string | undefined) || undefined,
  // Express keeps the route pattern on req.route, Fastify on routeOptions: the pattern, never the raw URL.
  route: (req) => `${req.method} ${req.routeOptions?.url ?? `${req.baseUrl ?? ''}${req.route?.path ?? req.url}`}`,
  target: (req) => `${req.method} ${req.originalUrl ?? req.url}`,
  // Nest's body parser (Express or Fastify) has run before any guard.
  body: (req) => nodeBody(req.raw ?? req, req.body),
  state: (req) => req.ecom9 ?? undefined,
  setState: (req, s) => void (req.ecom9 = s),
  middleware: (run) => run,
  next: () => true,
  // An answer thrown as an HttpException: Nest's exception filters send it.
  send: (_req, ctx, _next, a) => {
    setHeaders(ctx, a.headers);
    // Bytes (a replayed response) as a StreamableFile: Nest's filters send it as it is, not as JSON.
    const body = typeof a.body === 'string' ? a.body : new StreamableFile(Buffer.from(a.body), { length: a.body.byteLength });
    throw new HttpException(body as string | object, a.status);
  },
  deny: (_req, ctx, _next, decision) => deny(ctx, decision),
  // An async handler's promise is the step's: the guard awaits it, so its rejection reaches Nest's
  // filters (not the process as an unhandled rejection) and its `true` lets the request on.
  onDenied: (handler, _req, ctx, _next, decision) => {
    const out = handler(decision, ctx);
    // Promise.resolve: a bare thenable's then() may return nothing, which the guard took as "go on"
    // (the denied request reached the handler whatever it settled to); a native promise adopts it.
    if (isPromise(out)) return Promise.resolve(out).then((v) => (v === true ? true : deny(ctx, decision)));
    return out === true ? true : deny(ctx, decision);
  },
  fail: (_req, _ctx, _next, err) => {
    throw err;
  },
  finished: (req, ctx, _next, done) => {
    const res = ctx.getArgByIndex(1);
    onNodeFinished(res.raw ?? res, done, req, res);
    return true;
  },
};
