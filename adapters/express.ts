// Express adapter: turns a request into guard inputs and a Decision into a response. No logic of its own.
import express from 'express';
import type { NextFunction, Request, RequestHandler, Response, Router } from 'express';
import type { Decision, Gate } from '../src/index';
import type { AdapterOptions, PerRouteOptions } from '../src/middleware/adapter-options';
import {
  callOnDenied,
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

export type ExpressDeniedHandler = (req: Request, res: Response, decision: Decision, next: NextFunction) => void;

export interface ExpressGateOptions extends AdapterOptions<Request, ExpressDeniedHandler> {}

type PerRoute = PerRouteOptions<ExpressDeniedHandler>;

function sendDenial(res: Response, decision: Decision): void {
  const { status, headers, body } = denialResponse(decision);
  res.status(status).set(headers).send(JSON.stringify(body));
}

function sendRejection(res: Response, r: WebhookRejection): void {
  res.status(r.status).set(r.headers).json(r.body);
}

const meterReaders = {
  knownRef: (req: Request) => req.ecom9?.accountRefId,
  idempotencyKey: (req: Request) => req.get('idempotency-key'),
  route: (req: Request) => routeOf(req),
};

const routeOf = (req: Request): string => `${req.method} ${req.baseUrl}${(req.route as { path?: string } | undefined)?.path ?? req.path}`;

export function expressGate(gate: Gate, options: ExpressGateOptions) {
  checkAdapterOptions('expressGate', gate, options?.accountRefId);
  const report = (err: unknown) => gate.reportError(err);
  const resolver = options.accountRefId;

  /** Records the state for the handler, then lets the request through or answers the denial. */
  function settle(req: Request, res: Response, next: NextFunction, state: Ecom9State, onDenied: ExpressDeniedHandler | undefined): void {
    req.ecom9 = mergeState(req.ecom9, state);
    const decision = state.decision as Decision;
    if (decision.allowed) next();
    else if (onDenied) callOnDenied((go) => onDenied(req, res, decision, go as NextFunction), next, report);
    else sendDenial(res, decision);
  }

  const guarded =
    (guard: Guard<Request>, onDenied = options.onDenied): RequestHandler =>
    (req, res, next) => {
      let out: Ecom9State | Promise<Ecom9State>;
      try {
        out = guard(req);
      } catch (err) {
        return next(err);
      }
      if (out instanceof Promise) out.then((state) => settle(req, res, next, state, onDenied)).catch(next);
      else settle(req, res, next, out, onDenied);
    };

  return {
    ...checkFactories(gate, resolver, report, guarded),

    chargeCredits(opts: ChargeOptions<Request> & PerRoute): RequestHandler {
      const charge = chargeGuard(gate, resolver, report, opts);
      const onDenied = opts.onDenied ?? options.onDenied;
      return (req, res, next) => {
        charge(req, { idempotencyKey: req.get('idempotency-key'), route: routeOf(req) })
          .then((state) => settle(req, res, next, state, onDenied))
          .catch(next);
      };
    },

    meterUsage(opts: MeterOptions<Request, Response>): RequestHandler {
      const meter = meterGuard(gate, resolver, report, opts, meterReaders);
      return (req, res, next) => {
        meter(req, res, res);
        next();
      };
    },

    /** Read-only routes for the signed-in account, for the browser: `app.use('/api/ecom9', ecom9.accountRoutes())`. */
    accountRoutes(opts: Omit<AccountRoutesOptions, 'prefix'> = {}): Router {
      const core = accountRoutesCore(gate, resolver, opts);
      const router = express.Router();
      router.use((req, res) => void serveNode(core, req, req.method, req.url, res, report));
      return router;
    },

    /** A Router for ecom9's webhooks: mount it before any body parser, e.g. `app.use('/webhooks/ecom9', ecom9.webhookRouter())`. */
    webhookRouter(opts: WebhookRouterOptions = {}): Router {
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

export type ExpressGate = ReturnType<typeof expressGate>;
export type { Ecom9State };
