// Web-standard adapter: each guard wraps a `(req: Request, ...rest) => Response` handler (Next.js
// route handlers and proxy, Bun.serve, Deno.serve, Cloudflare-style workers). Its binding over the
// shared builder (src/middleware/builder.ts), the state kept on the request, the account routes and
// the webhook handler.
import type { DeniedDecision, Gate } from '../src/index';
import type { AdapterOptions } from '../src/middleware/adapter-options';
import type { Binding } from '../src/middleware/binding';
import { buildMiddlewares, type GateMiddlewares } from '../src/middleware/builder';
import { isNodeResponse, onNodeFinished, onWebFinished } from '../src/middleware/finished';
import { isPromise, type Ecom9State } from '../src/middleware/guards';
import { answerResponse, internalError, isRequest, webhookEndpoint } from '../src/middleware/web';
import type { WebhookRouterOptions } from '../src/middleware/webhook-route';
import { accountRoutesCore, checkPrefix, type AccountRoutesOptions } from '../src/middleware/account-routes';
import { serveWeb } from '../src/middleware/account-routes-io';
import { ArgumentError } from '../src/shared/errors';

/** Answers a denial instead; `next()` runs the handler anyway (its state holds the denial). */
export type FetchDeniedHandler = (req: Request, decision: DeniedDecision, next: () => Response | Promise<Response>) => Response | Promise<Response>;

/** `accountRefId` gets the Request, e.g. `(req) => req.headers.get('x-org-id')`. */
export interface FetchGateOptions extends AdapterOptions<Request, FetchDeniedHandler> {}

/** A handler a guard wraps: the Request, then whatever else the runtime passes (env, ctx). */
export type FetchHandler<R extends Request = Request, A extends unknown[] = unknown[]> = (req: R, ...rest: A) => Response | Promise<Response>;

/** A guard: takes a handler, returns one of the same shape (`export const GET = ecom9.requireTier('pro')(handler)`). */
export type FetchGuard = <R extends Request, A extends unknown[]>(handler: FetchHandler<R, A>) => FetchHandler<R, A>;

/** What fetchGate returns: the four guards, the state of a request, the account routes and the webhook handler. */
export interface FetchGate extends GateMiddlewares<FetchGuard, Request, FetchDeniedHandler, Response> {
  /** The state of a request that went through a guard of this fetchGate, else undefined. */
  state(req: Request): Ecom9State | undefined;
  /** Read-only routes for the signed-in account under `prefix` (default '/api/ecom9'), for the browser. */
  accountRoutes(opts?: AccountRoutesOptions): (req: Request) => Promise<Response>;
  /** ecom9's webhooks: `export const POST = ecom9.webhookHandler()`. Reads the raw bytes itself (64 KiB). */
  webhookHandler(opts?: WebhookRouterOptions): (req: Request) => Promise<Response>;
}

interface FetchShape {
  req: Request;
  res: unknown[];
  next: FetchHandler;
  out: Response | Promise<Response>;
  mw: FetchGuard;
  denied: FetchDeniedHandler;
  meterRes: Response;
}

type Stateful = Request & { [key: symbol]: Ecom9State | undefined };
type WaitUntil = { waitUntil?: (p: Promise<unknown>) => void } | undefined;

function notARequest(name: string): TypeError {
  return new ArgumentError(`ecom9-gate: fetchGate ${name}() wrapped a handler that was called without a Request as its first argument`);
}

function binding(report: (err: unknown) => void): Binding<FetchShape> & { state(req: Request): Ecom9State | undefined } {
  // The state rides on the request under this gate's own symbol. A WeakMap alone costs microseconds
  // per new request under load (young GCs rescan its ephemeron table); it only holds the requests
  // that cannot take a property (frozen ones).
  const key = Symbol('ecom9-gate state');
  const frozen = new WeakMap<Request, Ecom9State>();
  return {
    adapter: 'fetchGate',
    header: (req, name) => req.headers.get(name) || undefined,
    // No router to ask: the path stands for the route, so an Idempotency-Key is scoped to the URL path.
    route: (req) => `${req.method} ${new URL(req.url).pathname}`,
    state: (req) => (req as Stateful)[key] ?? frozen.get(req),
    setState: (req, s) => {
      if (Object.isExtensible(req)) (req as Stateful)[key] = s;
      else frozen.set(req, s);
    },
    middleware:
      (run, name) =>
      <R extends Request, A extends unknown[]>(handler: FetchHandler<R, A>): FetchHandler<R, A> =>
      (req, ...rest) => {
        if (!isRequest(req)) throw notARequest(name);
        return run(req, rest, handler as unknown as FetchHandler) as Response | Promise<Response>;
      },
    next: (req, rest, handler) => handler(req, ...rest),
    send: (_req, _rest, _handler, a) => answerResponse(a),
    onDenied: (onDenied, req, rest, handler, d) => onDenied(req, d, () => handler(req, ...rest)),
    // No framework error path to hand it to: reported, and a 500 that says nothing of it.
    fail: (_req, _rest, _handler, err) => {
      report(err);
      return internalError();
    },
    // Served by @hono/node-server (`env.outgoing`): the Node response says when it is finished;
    // elsewhere the returned Response's body is watched to its end.
    finished: (req, rest, handler, done) => {
      const outgoing = (rest[0] as { outgoing?: unknown } | undefined)?.outgoing;
      const node = isNodeResponse(outgoing);
      const watch = (response: Response): Response => {
        if (!node) return onWebFinished(response, req.signal, done, req, response);
        onNodeFinished(outgoing, done, req, response);
        return response;
      };
      const out = handler(req, ...rest);
      return isPromise(out) ? out.then(watch) : watch(out);
    },
    // `guard(handler)(request, env, ctx)`: a Worker's execution context.
    waitUntil: (_req, rest) => {
      const ctx = rest[1] as WaitUntil;
      return typeof ctx?.waitUntil === 'function' ? (p) => ctx.waitUntil?.(p) : undefined;
    },
  };
}

export function fetchGate(gate: Gate, options: FetchGateOptions): FetchGate {
  const b = binding((err) => gate.reportError(err));
  return {
    ...buildMiddlewares(gate, options, b),

    state: (req) => (isRequest(req) ? b.state(req) : undefined),

    accountRoutes(opts = {}) {
      const prefix = checkPrefix(opts?.prefix, '/api/ecom9');
      const core = accountRoutesCore(gate, options.accountRefId, opts);
      return (req) => serveWeb(core, req, req, prefix, (err) => gate.reportError(err));
    },

    webhookHandler: (opts = {}) => webhookEndpoint(gate, opts),
  };
}

export type { Ecom9State };
