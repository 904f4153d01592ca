// The one shape every adapter fills in: how its framework reads a request, goes on, answers, and
// tells when a response is finished. buildMiddlewares (builder.ts) makes every middleware from it.
//
// To add a middleware (or a capability to every middleware): write it once in builder.ts, over the
// members below, and parse its per-route options in `routeOptions` there. A capability a framework
// cannot express with these members gets a new member here, implemented by each binding in
// adapters/*.ts, documented on the member (what it must do on Node servers and on web runtimes).
import type { DeniedDecision } from '../gate/decision';
import type { Ecom9State } from './guards';

/**
 * The types one framework works in. `req` is what a resolver and option functions receive; `res`
 * and `next` are the rest of a middleware's arguments (fetch: the handler's other arguments, and the
 * handler itself); `out` is what a middleware returns; `mw` the framework's middleware type.
 */
export interface Shape {
  req: unknown;
  res: unknown;
  next: unknown;
  out: unknown;
  mw: unknown;
  /** The adapter's onDenied handler type. */
  denied: unknown;
  /** What meterUsage's `quantity`, `when` and `metadata` receive as the response. */
  meterRes: unknown;
}

/** A whole answer written instead of running the route: a denial, or a stored response replayed (#22). */
export interface Answer {
  status: number;
  headers: Readonly<Record<string, string>>;
  body: string | Uint8Array;
}

/**
 * Called once when the response is finished (`aborted` false) or its client left first (true), with
 * the request and what option functions receive as the response (meterUsage's signature, so the
 * builder hands its meter over without a closure per request).
 */
export type Finished<Req, MeterRes> = (req: Req, res: MeterRes, status: number, aborted: boolean) => void;

/** A middleware's body, run by the framework's middleware that `Binding.middleware` makes of it. */
export type Run<S extends Shape> = (req: S['req'], res: S['res'], next: S['next']) => S['out'] | Promise<S['out']>;

/**
 * One framework's translation. Every method is called on the request path: keep them allocation-free
 * where the framework allows, and synchronous (a warm cache answers with no promise at all).
 */
export interface Binding<S extends Shape> {
  /** The factory's name, for errors: 'expressGate'. */
  readonly adapter: string;
  /** A request header by its lower-case name; an empty value counts as none. */
  header(req: S['req'], name: string): string | undefined;
  /** Method and route pattern ('POST /images/:n'), never the raw URL: an Idempotency-Key is scoped to it. */
  route(req: S['req']): string;
  /** The state earlier ecom9 middlewares on this request left, if any. */
  state(req: S['req']): Ecom9State | undefined;
  setState(req: S['req'], state: Ecom9State): void;
  /** The framework's middleware running `run` (named `name` where the framework shows names). */
  middleware(run: Run<S>, name: string): S['mw'];
  /** Goes on to the route (or the next middleware). */
  next(req: S['req'], res: S['res'], next: S['next']): S['out'];
  /** Answers `answer` instead of going on. Also the replay hook: a stored response (#22) is sent with it. */
  send(req: S['req'], res: S['res'], next: S['next'], answer: Answer): S['out'];
  /** Answers a denial when the framework has its own way (Nest throws its exception); else `send` of the problem+json. */
  deny?(req: S['req'], res: S['res'], next: S['next'], decision: DeniedDecision): S['out'];
  /** Hands a denial to the user's onDenied, in the framework's calling convention. */
  onDenied(handler: S['denied'], req: S['req'], res: S['res'], next: S['next'], decision: DeniedDecision): S['out'];
  /** Hands an error to the framework's error path (Express `next(err)`, Koa and Hono throw, fetch a 500). */
  fail(req: S['req'], res: S['res'], next: S['next'], err: unknown): S['out'];
  /**
   * Goes on, and calls `done` once when the response is finished or the client left (meterUsage;
   * settling a hold, #25). On a Node server it listens to the Node response (onNodeFinished: fetch
   * and Hono on @hono/node-server reach it through `env.outgoing`), so no byte is re-streamed; on web
   * runtimes it watches the returned Response's body to its end (onWebFinished).
   * A capture of the response for idempotent replay (#22: status, content-type and a few headers,
   * the body up to a limit, or "streamed / too large") belongs beside it: on Node by wrapping the
   * response's write/end (or Fastify's onSend, Koa's ctx.body after next), on web runtimes from the
   * returned Response.
   */
  finished(req: S['req'], res: S['res'], next: S['next'], done: Finished<S['req'], S['meterRes']>): S['out'];
  /**
   * The runtime's `waitUntil` for background work of this request (usage, refreshes; #27): a fetch
   * guard called as `guard(handler)(request, env, ctx)` has `ctx.waitUntil`, Hono `c.executionCtx`.
   * Undefined where the process outlives the request (Node).
   */
  waitUntil?(req: S['req'], res: S['res']): ((promise: Promise<unknown>) => void) | undefined;
}
