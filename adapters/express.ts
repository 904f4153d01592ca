// Express adapter: its binding over the shared builder (src/middleware/builder.ts), the req.ecom9
// augmentation, and the two routers (account routes, webhooks). No logic of its own.
import express from 'express';
import type { Request, RequestHandler, Response, Router } from 'express';
import type { AccountRoutesOptions, AdapterOptions, Ecom9State, Gate, GateMiddlewares, WebhookRouterOptions } from '../src/index';
import { buildMiddlewares } from '../src/middleware/builder';
import { expressBinding, type ExpressDeniedHandler } from './express/binding';
import { accountRoutesCore } from '../src/middleware/account-routes';
import { serveNode } from '../src/middleware/account-routes-io';
import { readSignedBody } from '../src/middleware/raw-body';
import { webhookHandlers, webhookPrecheck, webhookRejection, type WebhookRejection } from '../src/middleware/webhook-route';

declare global {
  namespace Express {
    interface Request {
      /**
       * Set by every ecom9 middleware on the route; undefined on a route without one. Behind a
       * middleware, `ecom9.gated(req)` reads it typed as present.
       */
      ecom9?: Ecom9State;
    }
  }
}

export interface ExpressGateOptions extends AdapterOptions<Request, ExpressDeniedHandler> {}

/** What expressGate returns: the four gating middlewares and the two routers. */
export interface ExpressGate extends GateMiddlewares<RequestHandler, Request, ExpressDeniedHandler, Response> {
  /** Read-only routes for the signed-in account, for the browser: `app.use('/api/ecom9', ecom9.accountRoutes())`. */
  accountRoutes(opts?: Omit<AccountRoutesOptions, 'prefix'>): Router;
  /** A Router for ecom9's webhooks: mount it before any body parser, e.g. `app.use('/webhooks/ecom9', ecom9.webhookRouter())`. */
  webhookRouter(opts?: WebhookRouterOptions): Router;
}

function sendRejection(res: Response, r: WebhookRejection): void {
  res.status(r.status).set(r.headers).json(r.body);
}

export function expressGate(gate: Gate, options: ExpressGateOptions): ExpressGate {
  const report = (err: unknown) => gate.reportError(err);
  const middlewares = buildMiddlewares(gate, options, expressBinding(report));
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
        readSignedBody(req, req.body, gate.webhookBodyTimeoutMs)
          .then(async (raw) => {
            // aborted: the client left, no one to answer and no error of the app's.
            if (raw.failed) return raw.failed === 'timeout' ? sendRejection(res, webhookRejection('timeout')) : undefined;
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

export type { Ecom9State, ExpressDeniedHandler };
// Every core type (src/types.ts), so a type this subpath's signatures name (and what those name in
// turn) is imported from here as from ecom9-gate.
export type * from '../src/types';
