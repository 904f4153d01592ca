// Express's binding for the shared builder (src/middleware/builder.ts): how Express reads a request,
// goes on, answers, and tells when a response is finished.
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { DeniedDecision } from '../../src/gate/decision';
import type { Binding } from '../../src/middleware/binding';
import { onNodeFinished } from '../../src/middleware/finished';
import { callOnDenied } from '../../src/middleware/guards';
import { nodeBody } from '../../src/middleware/request-body';

/** Answers a denial instead; only `next()` lets the request go on (the denial in `req.ecom9`). */
export type ExpressDeniedHandler = (req: Request, res: Response, decision: DeniedDecision, next: NextFunction) => void;

export interface ExpressShape {
  req: Request;
  res: Response;
  next: NextFunction;
  out: unknown;
  mw: RequestHandler;
  denied: ExpressDeniedHandler;
  meterRes: Response;
}

export function expressBinding(report: (err: unknown) => void): Binding<ExpressShape> {
  return {
    adapter: 'expressGate',
    header: (req, name) => req.get(name) || undefined,
    route: (req) => `${req.method} ${req.baseUrl}${(req.route as { path?: string } | undefined)?.path ?? req.path}`,
    target: (req) => `${req.method} ${req.originalUrl}`,
    body: (req) => nodeBody(req, req.body),
    state: (req) => req.ecom9,
    setState: (req, s) => void (req.ecom9 = s),
    middleware: (run) => (req, res, next) => void run(req, res, next),
    next: (_req, _res, next) => next(),
    send: (_req, res, _next, a) => void res.status(a.status).set(a.headers).send(a.body),
    onDenied: (handler, req, res, next, d) => callOnDenied((go) => handler(req, res, d, go as NextFunction), next, report),
    fail: (_req, _res, next, err) => next(err),
    finished: (req, res, next, done) => {
      onNodeFinished(res, done, req, res);
      next();
    },
  };
}
