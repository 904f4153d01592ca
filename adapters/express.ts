// Express adapter: its binding over the shared builder (src/middleware/builder.ts), the req.ecom9
// augmentation, and the two routers (account routes, webhooks). No logic of its own.
import express from 'express';
import type { NextFunction, Request, RequestHandler, Response, Router } from 'express';
import type { DeniedDecision, Gate } from '../src/index';
import type { AdapterOptions } from '../src/middleware/adapter-options';
import type { Binding } from '../src/middleware/binding';
import { buildMiddlewares, type GateMiddlewares } from '../src/middleware/builder';
import { onNodeFinished } from '../src/middleware/finished';
import { callOnDenied, type Ecom9State } from '../src/middleware/guards';
import { accountRoutesCore, type AccountRoutesOptions } from '../src/middleware/account-routes';
import { serveNode } from '../src/middleware/account-routes-io';
import { readSignedBody } from '../src/middleware/raw-body';
import { webhookHandlers, webhookPrecheck, webhookRejection, type WebhookRejection, type WebhookRouterOptions } from '../src/middleware/webhook-route';

declare global {
  namespace Express {
    interface Request {
      /** Set by every ecom9 middleware on the route. */
      ecom9: Ecom9State;
    }
  }
}

/** Answers a denial instead; only `next()` lets the request go on (the denial in `req.ecom9`). */
export type ExpressDeniedHandler = (req: Request, res: Response, decision: DeniedDecision, next: NextFunction) => void;

export interface ExpressGateOptions extends AdapterOptions<Request, ExpressDeniedHandler> {}

/** What expressGate returns: the four gating middlewares and the two routers. */
export interface ExpressGate extends GateMiddlewares<RequestHandler, Request, ExpressDeniedHandler, Response> {
  /** Read-only routes for the signed-in account, for the browser: `app.use('/api/ecom9', ecom9.accountRoutes())`. */
  accountRoutes(opts?: Omit<AccountRoutesOptions, 'prefix'>): Router;
  /** A Router for ecom9's webhooks: mount it before any body parser, e.g. `app.use('/webhooks/ecom9', ecom9.webhookRouter())`. */
  webhookRouter(opts?: WebhookRouterOptions): Router;
}

interface ExpressShape {
  req: Request;
  res: Response;
  next: NextFunction;
  out: unknown;
  mw: RequestHandler;
  denied: ExpressDeniedHandler;
  meterRes: Response;
}

function sendRejection(res: Response, r: WebhookRejection): void {
  res.status(r.status).set(r.headers).json(r.body);
}

function binding(report: (err: unknown) => void): Binding<ExpressShape> {
  return {
    adapter: 'expressGate',
    header: (req, name) => req.get(name) || undefined,
    route: (req) => `${req.method} ${req.baseUrl}${(req.route as { path?: string } | undefined)?.path ?? req.path}`,
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

export function expressGate(gate: Gate, options: ExpressGateOptions): ExpressGate {
  const report = (err: unknown) => gate.reportError(err);
  const middlewares = buildMiddlewares(gate, options, binding(report));
  return {
    ...middlewares,

    accountRoutes(opts = {}) {
      const core = accountRoutesCore(gate, options.accountRefId, opts);
      const router = express.Router();
      router.use((req, res) => void serveNode(core, req, req.method, req.url, res, report));
      return router;
    },

    webhookRouter(opts = {}) {
      webhookHandlers(gate, opts);
      const router = express.Router();
      // A wrong method or a compressed body is answered before a byte is read; then the bytes as sent.
      const precheck: RequestHandler = (req, res, next) => {
        const early = webhookPrecheck(req.method, req.headers);
        if (early) sendRejection(res, early);
        else next();
      };
      router.all('/', precheck, (req, res, next) => {
        readSignedBody(req, req.body)
          .then(async (raw) => {
            if (raw.tooLarge) return sendRejection(res, webhookRejection('size'));
            const { status, body } = await gate.handleWebhook({ rawBody: raw.body, headers: req.headers });
            res.status(status).json(body);
          })
          .catch(next);
      });
      return router;
    },
  };
}

export type { Ecom9State };
