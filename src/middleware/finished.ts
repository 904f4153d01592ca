// "The response is finished, or its client left", per runtime: a Node response's own events (Express,
// Koa, Fastify, Nest, and fetch/Hono on @hono/node-server), else a web Response's body watched to its
// end. Only web globals here, so the web runtimes load it too.

import type { Finished } from './binding';

/** What is read of a Node ServerResponse (typed by shape: no node: import on web runtimes). */
export interface NodeResponseLike {
  readonly statusCode: number;
  readonly writableFinished: boolean;
  on(event: 'close', listener: () => void): unknown;
}

/**
 * On a Node response: at once when it is already finished (a hook after the response), else on its
 * 'close', which a response always emits last and once (after 'finish' when it was finished), so one
 * plain listener does: no once() wrapper, one closure per request, no byte re-streamed.
 */
export function onNodeFinished<Req, Res>(raw: NodeResponseLike, done: Finished<Req, Res>, req: Req, res: Res): void {
  if (raw.writableFinished) done(req, res, raw.statusCode, false);
  else raw.on('close', () => done(req, res, raw.statusCode, !raw.writableFinished));
}

/** True for something shaped like a Node ServerResponse (@hono/node-server's `env.outgoing`). */
export function isNodeResponse(v: unknown): v is NodeResponseLike {
  return typeof (v as NodeResponseLike | null)?.on === 'function' && typeof (v as NodeResponseLike).writableFinished === 'boolean';
}

/**
 * On a web Response: returns the Response to send, whose body calls `done` once the consumer has
 * read its last chunk (`aborted` when it cancels, or `signal` fired before). A Response without a body
 * (or a client already gone) is finished now. The body is passed through a pull-based stream (a chunk
 * is taken from the source only when the consumer asks), so a source that errors is never a success.
 */
export function onWebFinished<Req, Res>(response: Response, signal: AbortSignal | undefined, done: Finished<Req, Res>, req: Req, res: Res): Response {
  const status = response.status;
  if (response.body === null || signal?.aborted) {
    done(req, res, status, signal?.aborted === true);
    return response;
  }
  const reader = response.body.getReader();
  const body = new ReadableStream<Uint8Array>(
    {
      async pull(ctl) {
        const r = await reader.read();
        if (!r.done) return ctl.enqueue(r.value);
        ctl.close();
        done(req, res, status, signal?.aborted === true);
      },
      cancel(reason) {
        done(req, res, status, true);
        return reader.cancel(reason);
      },
    },
    { highWaterMark: 0 },
  );
  return new Response(body, response);
}
