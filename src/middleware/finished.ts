// "The response is finished, or its client left", per runtime: a Node response's own events (Express,
// Koa, Fastify, Nest, and fetch/Hono on @hono/node-server), else a web Response's body watched to its
// end. Both also serve `done.sending` (called before the response's last bytes can reach the client)
// and `done.keepBody` (its headers and bytes, for an idempotent replay). Only web globals here, so
// the web runtimes load it too.
import type { Captured, Finished } from './binding';

/** What is read of a Node ServerResponse (typed by shape: no node: import on web runtimes). */
export interface NodeResponseLike {
  readonly statusCode: number;
  readonly writableFinished: boolean;
  /** True once closed (Node sets it when the client left before the response was finished). */
  readonly destroyed?: boolean;
  on(event: 'close', listener: () => void): unknown;
}

interface Writable extends NodeResponseLike {
  writeHead?: (...args: unknown[]) => unknown;
  write: (...args: unknown[]) => unknown;
  end: (...args: unknown[]) => unknown;
  getHeaders?: () => Record<string, unknown>;
}

const isThenable = (v: unknown): v is Promise<unknown> => typeof (v as { then?: unknown } | null)?.then === 'function';
const encoder = new TextEncoder();

/** Collects written chunks up to `limit` bytes; past it, only that it was passed. */
class Collector {
  private chunks: Uint8Array[] | undefined = [];
  private size = 0;
  constructor(private readonly limit: number) {}
  add(chunk: unknown, encoding: unknown): void {
    if (this.chunks === undefined || chunk === undefined || chunk === null || typeof chunk === 'function') return;
    const bytes =
      typeof chunk === 'string'
        ? typeof encoding === 'string' && encoding !== 'utf8' && encoding !== 'utf-8' && typeof Buffer !== 'undefined'
          ? new Uint8Array(Buffer.from(chunk, encoding as BufferEncoding))
          : encoder.encode(chunk)
        : chunk instanceof Uint8Array
          ? chunk
          : undefined;
    if (bytes === undefined) return;
    this.size += bytes.byteLength;
    if (this.size > this.limit) this.chunks = undefined;
    else this.chunks.push(bytes.slice());
  }
  /** True once more than the limit was added. */
  get over(): boolean {
    return this.chunks === undefined;
  }
  bytes(): Uint8Array | undefined {
    if (this.chunks === undefined) return undefined;
    const out = new Uint8Array(this.size);
    let at = 0;
    for (const c of this.chunks) {
      out.set(c, at);
      at += c.byteLength;
    }
    return out;
  }
}

/**
 * On a Node response: at once when it is already finished (a hook after the response), else on its
 * 'close', which a response always emits last and once (after 'finish' when it was finished), so one
 * plain listener does. With `done.sending` or `done.keepBody`, its `end` (and `write`, to capture) is
 * taken over for this request: the hook runs before the original `end` writes the last bytes.
 */
export function onNodeFinished<Req, Res>(raw: NodeResponseLike, done: Finished<Req, Res>, req: Req, res: Res): void {
  if (raw.writableFinished) {
    done(req, res, raw.statusCode, false);
    return;
  }
  // Closed already: the client left while the handler worked, and the hook comes after it (fetch on
  // @hono/node-server hooks the Response it returned). Its one 'close' is gone, so waiting for it
  // never settled the request: a hold's used credits went uncharged. Aborted, at once.
  if (raw.destroyed === true) {
    done(req, res, raw.statusCode, true);
    return;
  }
  if (done.sending === undefined && done.keepBody === undefined) {
    raw.on('close', () => done(req, res, raw.statusCode, !raw.writableFinished));
    return;
  }
  const w = raw as Writable;
  const collector = done.keepBody === undefined ? undefined : new Collector(done.keepBody);
  let sent: unknown;
  let captured: Captured | undefined;
  let ending = false;
  // Headers handed to writeHead (Fastify, @hono/node-server) never reach getHeaders(): kept as they pass.
  let headPassed: Record<string, unknown> | undefined;
  if (collector) {
    const writeHead = w.writeHead;
    if (typeof writeHead === 'function') {
      w.writeHead = function capturedHead(this: unknown, ...args: unknown[]) {
        const h = typeof args[1] === 'object' && args[1] !== null ? args[1] : args[2];
        if (Array.isArray(h)) {
          headPassed = {};
          for (let i = 0; i + 1 < h.length; i += 2) headPassed[String(h[i]).toLowerCase()] = h[i + 1];
        } else if (typeof h === 'object' && h !== null) {
          headPassed = {};
          for (const [k, v] of Object.entries(h)) headPassed[k.toLowerCase()] = v;
        }
        return writeHead.apply(this, args);
      };
    }
    const write = w.write;
    w.write = function capturedWrite(this: unknown, ...args: unknown[]) {
      if (!ending) collector.add(args[0], args[1]);
      return write.apply(this, args);
    };
  }
  const end = w.end;
  w.end = function sendingEnd(this: unknown, ...args: unknown[]) {
    if (ending) return end.apply(this, args);
    ending = true;
    if (collector) {
      collector.add(args[0], args[1]);
      captured = { headers: Object.entries({ ...w.getHeaders?.(), ...headPassed }), body: collector.bytes() };
    }
    if (done.sending === undefined) return end.apply(this, args);
    let out: unknown;
    try {
      out = done.sending(req, res, raw.statusCode);
    } catch {
      out = undefined;
    }
    if (!isThenable(out)) {
      sent = out;
      return end.apply(this, args);
    }
    out.then(
      (v) => {
        sent = v;
        end.apply(this, args);
      },
      () => end.apply(this, args),
    );
    return raw;
  };
  raw.on('close', () => done(req, res, raw.statusCode, !raw.writableFinished, sent, captured));
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
 * `done.sending` runs before the Response is handed back (its first byte waits for a promise it
 * returns); `done.keepBody` keeps the chunks as they pass.
 */
export function onWebFinished<Req, Res>(response: Response, signal: AbortSignal | undefined, done: Finished<Req, Res>, req: Req, res: Res): Response {
  const status = response.status;
  if (done.keepBody !== undefined && response.body !== null) return keepWebBody(response, done.keepBody, done, req, res);
  let sent: unknown;
  let waiting: Promise<unknown> | undefined;
  if (done.sending !== undefined) {
    try {
      const out = done.sending(req, res, status);
      if (isThenable(out))
        waiting = out.then(
          (v) => (sent = v),
          () => undefined,
        );
      else sent = out;
    } catch {
      sent = undefined;
    }
  }
  const collector = done.keepBody === undefined ? undefined : new Collector(done.keepBody);
  const capture = (): Captured | undefined => (collector ? { headers: response.headers.entries(), body: collector.bytes() } : undefined);
  if (response.body === null || signal?.aborted) {
    const aborted = signal?.aborted === true;
    if (waiting) void waiting.then(() => done(req, res, status, aborted, sent, capture()));
    else done(req, res, status, aborted, sent, capture());
    return response;
  }
  const reader = response.body.getReader();
  const body = new ReadableStream<Uint8Array>(
    {
      async pull(ctl) {
        if (waiting) {
          await waiting;
          waiting = undefined;
        }
        const r = await reader.read();
        if (!r.done) {
          collector?.add(r.value, undefined);
          return ctl.enqueue(r.value);
        }
        ctl.close();
        done(req, res, status, signal?.aborted === true, sent, capture());
      },
      async cancel(reason) {
        if (waiting) await waiting;
        done(req, res, status, true, sent, collector ? { headers: response.headers.entries(), body: undefined } : undefined);
        return reader.cancel(reason);
      },
    },
    { highWaterMark: 0 },
  );
  return new Response(body, response);
}

/**
 * `keepBody` on a web Response: the body is teed and one branch read here, whether or not the
 * client reads the other (a test's `app.request()` may never), so what the route answered is kept as
 * soon as it is complete; past the limit that branch is cancelled (the source is then pulled by the
 * client alone) and the response is kept as not replayable. `done` is called once, when that is known.
 */
function keepWebBody<Req, Res>(response: Response, limit: number, done: Finished<Req, Res>, req: Req, res: Res): Response {
  const [out, mine] = (response.body as ReadableStream<Uint8Array>).tee();
  const collector = new Collector(limit);
  const reader = mine.getReader();
  const headers = [...response.headers.entries()];
  void (async () => {
    let body: Uint8Array | undefined;
    try {
      for (;;) {
        const r = await reader.read();
        if (r.done) {
          body = collector.bytes();
          break;
        }
        collector.add(r.value, undefined);
        if (collector.over) {
          reader.cancel().catch(() => {});
          break;
        }
      }
    } catch {
      body = undefined; // the route's body failed midway: not a response to replay
    }
    done(req, res, response.status, false, undefined, { headers, body });
  })();
  return new Response(out, response);
}
