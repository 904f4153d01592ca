// Writes an account route's answer: to a Node response (Express, Koa, Fastify) or as a web Response
// (fetch, Hono). An events stream stops when the client goes.
import type { ServerResponse } from 'node:http';
import type { Gate } from '../gate/create-gate';
import { accountRoutesCore, checkPrefix, problem, type AccountAnswer, type AccountRoutesCore, type AccountRoutesOptions } from './account-routes';
import type { AccountResolver } from './guards';
import { isNodeResponse } from './finished';

/** The 429 for a stream that cannot be sent: pipelined behind another response, which an endless stream would hold forever. */
const QUEUED = problem(
  429,
  'too_many_streams',
  'An events stream cannot wait behind another response on one connection; open it on its own.',
  { retry_after: 1 },
  { 'retry-after': '1' },
);

/** Writes the answer on a Node response the framework has let go of (Koa: ctx.respond = false; Fastify: reply.hijack()). */
export function writeNode(answer: AccountAnswer, res: ServerResponse): void {
  // destroyed: the client left while the resolver ran; its 'close' has fired already and never will again.
  if (res.headersSent || res.writableEnded || res.destroyed) {
    if ('start' in answer) answer.release();
    return;
  }
  if ('start' in answer && !res.socket) {
    // Pipelined (HTTP/1.1, several requests in one write): this response waits for the ones before
    // it, and never gets a socket of its own, so it would never see 'close'.
    answer.release();
    writeNode(QUEUED, res);
    return;
  }
  res.writeHead(answer.status, answer.headers);
  if (!('start' in answer)) {
    res.end(answer.body);
    return;
  }
  res.flushHeaders();
  const stop = answer.start(
    (chunk) => {
      if (!res.writableEnded) res.write(chunk);
    },
    () => res.end(),
  );
  res.once('close', stop);
  if (res.destroyed) stop();
}

/**
 * The answer as a web Response; an events stream is a ReadableStream stopped when it is cancelled or
 * the request's signal aborts (whichever the runtime does when the client goes; a client already gone
 * never starts one).
 */
export function toWebResponse(answer: AccountAnswer, signal?: AbortSignal, outgoing?: unknown): Response {
  if (!('start' in answer)) return new Response(answer.body, { status: answer.status, headers: answer.headers });
  // Served by @hono/node-server: a response pipelined behind another has no socket yet (see writeNode).
  if (isNodeResponse(outgoing) && (outgoing as { socket?: unknown }).socket == null) {
    answer.release();
    return toWebResponse(QUEUED);
  }
  if (signal?.aborted) {
    answer.release();
    return new Response(null, { status: 200, headers: answer.headers });
  }
  const encoder = new TextEncoder();
  let stop: (() => void) | undefined;
  const onAbort = () => (stop ?? answer.release)();
  signal?.addEventListener('abort', onAbort, { once: true });
  const body = new ReadableStream<Uint8Array>(
    {
      // Started when first read, not when made: a Response never sent holds no timer.
      pull(controller) {
        if (stop) return;
        if (signal?.aborted) {
          answer.release();
          controller.close();
          return;
        }
        stop = answer.start(
          (chunk) => controller.enqueue(encoder.encode(chunk)),
          () => {
            signal?.removeEventListener('abort', onAbort);
            controller.close();
          },
        );
      },
      cancel() {
        signal?.removeEventListener('abort', onAbort);
        (stop ?? answer.release)();
      },
    },
    { highWaterMark: 0 },
  );
  return new Response(body, { status: 200, headers: answer.headers });
}

/** The path and query of a request URL ('/status?x=1', or a full URL). */
export function splitUrl(url: string): { path: string; query: URLSearchParams } {
  const u = new URL(url, 'http://localhost');
  return { path: u.pathname, query: u.searchParams };
}

/** The part of `path` under `prefix` ('' for the prefix itself), or undefined when it is not under it. */
export function underPrefix(path: string, prefix: string): string | undefined {
  if (path === prefix) return '';
  return path.startsWith(`${prefix}/`) ? path.slice(prefix.length) : undefined;
}

/**
 * Serves one request on a Node response: `url` is the path under the prefix with its query. Never
 * rejects: an unexpected failure is reported and answered 500.
 */
export function serveNode<Req>(
  core: AccountRoutesCore<Req>,
  req: Req,
  method: string,
  url: string,
  res: ServerResponse,
  report: (err: unknown) => void,
): Promise<void> {
  const { path, query } = splitUrl(url);
  return core.handle(req, method, path, query).then(
    (a) => writeNode(a, res),
    (err: unknown) => {
      report(err);
      writeNode(problem(500, 'internal', 'The request could not be answered.'), res);
    },
  );
}

/** The plugin options of a framework that mounts the routes itself (Fastify). */
export interface AccountRoutesPluginOptions {
  /** Serve the browser's read-only account routes under this prefix, e.g. '/api/ecom9'. */
  accountRoutesPrefix?: string;
  /** Their options (rate, cacheTtlMs, maxStreamsPerAccount, heartbeatMs). */
  accountRoutes?: Omit<AccountRoutesOptions, 'prefix'>;
}

interface HijackableReply {
  hijack(): unknown;
  raw: ServerResponse;
}

/** Mounts the routes on an app with `all(path, handler)` whose reply can be hijacked (Fastify). */
export function mountHijacked<Req extends { method: string; url: string }>(
  app: {
    all(path: string, handler: (request: Req, reply: HijackableReply) => Promise<void>): unknown;
    addHook(name: 'preClose', hook: () => Promise<void>): unknown;
  },
  gate: Gate,
  resolver: AccountResolver<Req>,
  options: AccountRoutesPluginOptions,
): void {
  if (options.accountRoutesPrefix === undefined) return;
  const prefix = checkPrefix(options.accountRoutesPrefix);
  const core = accountRoutesCore(gate, resolver, options.accountRoutes);
  const serve = (request: Req, reply: HijackableReply): Promise<void> => {
    reply.hijack(); // written to reply.raw directly: an events stream stays open
    return serveNode(core, request, request.method, request.url.slice(prefix.length), reply.raw, (e) => gate.reportError(e));
  };
  // Open streams would hold app.close() until every browser went away.
  app.addHook('preClose', async () => core.closeStreams());
  app.all(prefix, serve);
  app.all(`${prefix}/*`, serve);
}

/**
 * Serves one web request (fetch, Hono) under `prefix`: a path outside it is a 404 problem. Never
 * rejects: an unexpected failure is reported and answered 500.
 */
export async function serveWeb<Req>(
  core: AccountRoutesCore<Req>,
  req: Req,
  request: Request,
  prefix: string,
  report: (err: unknown) => void,
  /** The Node response under the Request, when a Node server serves it (@hono/node-server's `outgoing`). */
  outgoing?: unknown,
): Promise<Response> {
  const u = new URL(request.url);
  const sub = underPrefix(u.pathname, prefix);
  if (sub === undefined) return toWebResponse(problem(404, 'not_found', 'No such account route.'));
  try {
    return toWebResponse(await core.handle(req, request.method, sub, u.searchParams), request.signal, outgoing);
  } catch (err) {
    report(err);
    return toWebResponse(problem(500, 'internal', 'The request could not be answered.'));
  }
}
