// Fastify's binding for the shared builder (src/middleware/builder.ts): how Fastify reads a request,
// goes on, answers, and tells when a response is finished, as callback-style hooks.
import type { FastifyReply, FastifyRequest, onRequestHookHandler, preHandlerHookHandler } from 'fastify';
import type { DeniedDecision } from '../../src/gate/decision';
import type { Binding } from '../../src/middleware/binding';
import { onNodeFinished } from '../../src/middleware/finished';
import { callOnDenied } from '../../src/middleware/guards';
import { nodeBody } from '../../src/middleware/request-body';

/** Answers a denial instead. Only `next()` lets the request go on (`next(err)`: the error handler); as in
 * Express, one that neither answers nor calls `next` leaves the request unanswered. */
export type FastifyDeniedHandler = (request: FastifyRequest, reply: FastifyReply, decision: DeniedDecision, next: (err?: Error) => void) => unknown;

export interface FastifyShape {
  req: FastifyRequest;
  res: FastifyReply;
  next: (err?: Error) => void;
  out: unknown;
  mw: preHandlerHookHandler & onRequestHookHandler;
  denied: FastifyDeniedHandler;
  meterRes: FastifyReply;
}

export function fastifyBinding(report: (err: unknown) => void): Binding<FastifyShape> {
  return {
    adapter: 'fastifyGate',
    // Its own, and those Fastify's register() reads from the same object.
    optionKeys: ['gate', 'webhookPath', 'webhookHandlers', 'accountRoutesPrefix', 'accountRoutes', 'prefix', 'logLevel', 'logSerializers'],
    // Node joins a repeated header of this kind into one string; an empty one counts as none.
    header: (req, name) => (req.headers[name] as string | undefined) || undefined,
    route: (req) => `${req.method} ${req.routeOptions.url ?? req.url}`,
    target: (req) => `${req.method} ${req.url}`,
    // Parsed before any route hook: the content-type parser's value (a Buffer for raw types).
    body: (req) => nodeBody(req.raw, req.body),
    state: (req) => req.ecom9 ?? undefined,
    setState: (req, s) => void (req.ecom9 = s),
    // Callback-style hooks returning nothing: a warm cache answers without a single promise.
    middleware: (run) =>
      function ecom9Hook(request: FastifyRequest, reply: FastifyReply, done: (err?: Error) => void) {
        void run(request, reply, done);
      },
    next: (_req, _reply, done) => done(),
    send: (_req, reply, _done, a) => void reply.code(a.status).headers(a.headers).send(a.body),
    // Not `reply.sent`: onDenied may answer later, or an async onSend hook may still be sending.
    onDenied: (handler, req, reply, done, d) => callOnDenied((next) => handler(req, reply, d, next), done as (err?: unknown) => void, report),
    fail: (_req, _reply, done, err) => done(err as Error),
    finished: (req, reply, done, fin) => {
      onNodeFinished(reply.raw, fin, req, reply);
      done();
    },
  };
}
