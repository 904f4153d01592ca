// What the web-standard adapters (fetch, hono) share: a Decision as a Response, the 500 of a check
// that failed, a webhook read from the Request's own stream with the limit applied while reading,
// and metering once a Response's body has been sent to its end. Only web globals: it runs on Node,
// Bun, Deno and edge runtimes alike.
import type { Gate } from '../gate/create-gate';
import { PROBLEM_CONTENT_TYPE, PROBLEM_TYPE_BASE, type Decision } from '../gate/decision';
import { MAX_WEBHOOK_BYTES } from '../webhooks/handler';
import { denialResponse, isPromise, type AccountResolver } from './guards';
import { meterSteps, type MeterOptions, type MeterReaders } from './meter';
import type { PendingMeter } from '../usage/recorder';
import { WebhookMountError } from '../shared/errors';
import { webhookHandlers, webhookPrecheck, webhookRejection, type WebhookRejection, type WebhookRouterOptions } from './webhook-route';

/** The problem+json Response for a denial. */
export function denial(d: Decision): Response {
  const { status, headers, body } = denialResponse(d);
  return new Response(JSON.stringify(body), { status, headers });
}

/**
 * The `report` the web adapters hand the guards. resolveAccount reports a resolver's throw or
 * rejection through it; rethrowing makes that an error of the request (fetchGate's 500, Hono's
 * onError) where the Node adapters answer 401. Never an allow either way.
 */
export const rethrow = (err: unknown): never => {
  throw err;
};

const INTERNAL = JSON.stringify({
  type: `${PROBLEM_TYPE_BASE}internal_error`,
  title: 'Internal error',
  status: 500,
  detail: 'The request could not be checked.',
  code: 'internal_error',
});

/** A 500 problem+json that says nothing of the error behind it. */
export function internalError(): Response {
  return new Response(INTERNAL, { status: 500, headers: { 'content-type': PROBLEM_CONTENT_TYPE } });
}

/** True for a Request, from any realm (Next's NextRequest, @hono/node-server's lazy one, undici's). */
export function isRequest(v: unknown): v is Request {
  return typeof (v as Request | null)?.url === 'string' && typeof (v as Request).headers?.get === 'function';
}

function rejectionResponse(r: WebhookRejection, headers: Record<string, string> = {}): Response {
  return Response.json(r.body, { status: r.status, headers: { ...r.headers, ...headers } });
}

// The rest of an oversized body is never read: the server may drop the connection once it has
// answered, so the client is told not to send another request on it.
const CLOSE = { connection: 'close' };

export type WebBody = { tooLarge: false; body: Uint8Array } | { tooLarge: true };

const TOO_LARGE: WebBody = Object.freeze({ tooLarge: true });
const noop = () => {};

/**
 * A Request's body as raw bytes, refused past `limit`: from Content-Length before reading, else as
 * soon as the stream passes it (the stream is cancelled), so an oversized body is never buffered
 * whole. Not `req.arrayBuffer()`: that reads to the end whatever the size.
 */
export async function readLimited(req: Request, limit = MAX_WEBHOOK_BYTES): Promise<WebBody> {
  const declared = req.headers.get('content-length');
  if (declared !== null && Number(declared) > limit) {
    req.body?.cancel().catch(noop);
    return TOO_LARGE;
  }
  if (req.body === null) return { tooLarge: false, body: new Uint8Array(0) };
  const reader = req.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      reader.cancel().catch(noop);
      return TOO_LARGE;
    }
    chunks.push(value);
  }
  if (chunks.length === 1) return { tooLarge: false, body: chunks[0] as Uint8Array };
  const body = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    body.set(c, at);
    at += c.byteLength;
  }
  return { tooLarge: false, body };
}

/** A body read before the webhook handler cannot be verified (re-serialising it changes the bytes). */
export function webBodyError(): WebhookMountError {
  return new WebhookMountError(
    'ecom9-gate: the webhook body was already consumed (Request.bodyUsed), so its signature cannot be checked. ' +
      'Hand the request to the webhook handler before anything reads its body (req.json(), req.text(), c.req.json(), a validator).',
  );
}

/**
 * The webhook endpoint over a Request: 405 and 415 before a byte is read, the mount error for a
 * consumed body (thrown: the framework's error path), 413 while reading, then gate.handleWebhook.
 */
export function webhookEndpoint(gate: Gate, opts: WebhookRouterOptions = {}): (req: Request) => Promise<Response> {
  webhookHandlers(gate, opts);
  return async (req) => {
    const early = webhookPrecheck(req.method, { 'content-encoding': req.headers.get('content-encoding') ?? undefined });
    if (early) return rejectionResponse(early);
    if (req.bodyUsed) throw webBodyError();
    const raw = await readLimited(req);
    if (raw.tooLarge) return rejectionResponse(webhookRejection('size'), CLOSE);
    const { status, body } = await gate.handleWebhook({ rawBody: raw.body, headers: req.headers });
    return Response.json(body, { status });
  };
}

/**
 * The same bytes, with `done` called once the consumer has read the last chunk (pull-based: a
 * chunk is taken from the source only when the consumer asks), or `done(true)` when it cancels.
 */
function onEnd(body: ReadableStream<Uint8Array>, done: (aborted: boolean) => void): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  return new ReadableStream<Uint8Array>(
    {
      async pull(ctl) {
        // A source that errors errors this stream too: not a success, so not metered.
        const r = await reader.read();
        if (!r.done) return ctl.enqueue(r.value);
        ctl.close();
        done(false);
      },
      cancel(reason) {
        done(true);
        return reader.cancel(reason);
      },
    },
    { highWaterMark: 0 },
  );
}

/**
 * meterUsage for a Response: returns the Response to send. The usage event is journaled now, before
 * a byte of it is sent, and counted once its body has been read to its end. A client gone before
 * that (the request's signal aborted, or the body cancelled) is not a success, unless `meterAborted`.
 */
export function webMeter<Req, Res>(
  gate: Gate,
  resolver: AccountResolver<Req>,
  opts: MeterOptions<Req, Res>,
  read: MeterReaders<Req>,
  signalOf: (req: Req) => AbortSignal | undefined,
): (req: Req, res: Res, response: Response) => Response {
  const report = (err: unknown) => gate.reportError(err);
  const steps = meterSteps(gate, resolver, report, opts, read);
  const settle = (p: PendingMeter | undefined, counts: boolean): void => {
    if (p) counts ? p.commit() : p.cancel();
  };
  const send = (req: Req, response: Response, pending: PendingMeter | undefined): Response => {
    if (pending === undefined) return response;
    if (response.body === null || signalOf(req)?.aborted) {
      settle(pending, !signalOf(req)?.aborted || steps.meterAborted);
      return response;
    }
    return new Response(
      onEnd(response.body, (aborted) => settle(pending, !(aborted || signalOf(req)?.aborted === true) || steps.meterAborted)),
      response,
    );
  };
  return (req, res, response) => {
    let p: PendingMeter | undefined | Promise<PendingMeter | undefined>;
    try {
      p = steps.prepare(req, res, response.status);
    } catch (err) {
      report(err);
      return response;
    }
    if (!isPromise(p)) return send(req, response, p);
    // The account is resolved only now (an async resolver): the body waits for the journal line.
    const body = response.body;
    if (body === null) {
      void p.then((x) => send(req, response, x), report);
      return response;
    }
    const ready = p.then(
      (x) => send(req, new Response(body, response), x).body,
      (err: unknown) => {
        report(err);
        return body;
      },
    );
    let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
    const waited = new ReadableStream<Uint8Array>(
      {
        async pull(ctl) {
          reader ??= ((await ready) as ReadableStream<Uint8Array>).getReader();
          const r = await reader.read();
          if (r.done) ctl.close();
          else ctl.enqueue(r.value);
        },
        async cancel(reason) {
          reader ??= ((await ready) as ReadableStream<Uint8Array>).getReader();
          await reader.cancel(reason);
        },
      },
      { highWaterMark: 0 },
    );
    return new Response(waited, response);
  };
}
