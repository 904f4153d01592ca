// The fetch adapter's binding for the shared builder (src/middleware/builder.ts): each middleware
// wraps a handler; the state rides on the Request; a response is finished by @hono/node-server's
// Node response when served by it, else by the returned Response's body read to its end.
import type { DeniedDecision } from '../../src/gate/decision';
import type { Binding, Finished } from '../../src/middleware/binding';
import { isNodeResponse, onNodeFinished, onWebFinished } from '../../src/middleware/finished';
import { isPromise, type Ecom9State } from '../../src/middleware/guards';
import { answerResponse, internalError, isRequest } from '../../src/middleware/web';
import { targetOfUrl, webBody } from '../../src/middleware/request-body';
import { ArgumentError } from '../../src/shared/errors';

/** Answers a denial instead; `next()` runs the handler anyway (its state holds the denial). */
export type FetchDeniedHandler = (req: Request, decision: DeniedDecision, next: () => Response | Promise<Response>) => Response | Promise<Response>;

/** A handler a guard wraps: the Request, then whatever else the runtime passes (env, ctx). */
export type FetchHandler<R extends Request = Request, A extends unknown[] = unknown[]> = (req: R, ...rest: A) => Response | Promise<Response>;

/** A guard: takes a handler, returns one of the same shape (`export const GET = ecom9.requireTier('pro')(handler)`). */
export type FetchGuard = <R extends Request, A extends unknown[]>(handler: FetchHandler<R, A>) => FetchHandler<R, A>;

/**
 * A handler that threw (or rejected) returns no Response to hook: its request is finished all the
 * same (by the error answer on Node, at once elsewhere), or what it used on its hold went uncharged.
 * The meter's callbacks see a 500 in place of the Response it never made.
 */
function finishFailed(outgoing: unknown, done: Finished<Request, Response>, req: Request, err: unknown): never {
  const failed = new Response(null, { status: 500 });
  if (isNodeResponse(outgoing)) onNodeFinished(outgoing, done, req, failed);
  else done(req, failed, 500, false);
  throw err;
}

export interface FetchShape {
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

export function fetchBinding(report: (err: unknown) => void): Binding<FetchShape> & { state(req: Request): Ecom9State | undefined } {
  // The state rides on the request under this gate's own symbol. A WeakMap alone costs microseconds
  // per new request under load (young GCs rescan its ephemeron table); it only holds the requests
  // that cannot take a property (frozen ones).
  const key = Symbol('ecom9-gate state');
  const frozen = new WeakMap<Request, Ecom9State>();
  // The WeakMap is asked only once a frozen request has been seen: a metered request without state
  // (meterUsage alone) would otherwise pay a lookup that cannot hit.
  let anyFrozen = false;
  return {
    adapter: 'fetchGate',
    header: (req, name) => req.headers.get(name) || undefined,
    // No router to ask: the path stands for the route, so an Idempotency-Key is scoped to the URL path.
    route: (req) => `${req.method} ${new URL(req.url).pathname}`,
    target: (req) => targetOfUrl(req.method, req.url),
    body: (req) => webBody(req),
    state: (req) => (req as Stateful)[key] ?? (anyFrozen ? frozen.get(req) : undefined),
    setState: (req, s) => {
      if (Object.isExtensible(req)) (req as Stateful)[key] = s;
      else {
        frozen.set(req, s);
        anyFrozen = true;
      }
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
      let out: Response | Promise<Response>;
      try {
        out = handler(req, ...rest);
      } catch (err) {
        return finishFailed(outgoing, done, req, err);
      }
      // No closure made per request on a synchronous handler: this runs on every metered request.
      if (isNodeResponse(outgoing)) {
        if (!isPromise(out)) {
          onNodeFinished(outgoing, done, req, out);
          return out;
        }
        return out.then(
          (response) => {
            onNodeFinished(outgoing, done, req, response);
            return response;
          },
          (err: unknown) => finishFailed(outgoing, done, req, err),
        );
      }
      return isPromise(out)
        ? out.then(
            (response) => onWebFinished(response, req.signal, done, req, response),
            (err: unknown) => finishFailed(outgoing, done, req, err),
          )
        : onWebFinished(out, req.signal, done, req, out);
    },
    // `guard(handler)(request, env, ctx)`: a Worker's execution context.
    waitUntil: (_req, rest) => {
      const ctx = rest[1] as WaitUntil;
      return typeof ctx?.waitUntil === 'function' ? (p) => ctx.waitUntil?.(p) : undefined;
    },
  };
}
