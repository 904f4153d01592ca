// What the web-standard adapters (fetch, hono) share: an answer as a Response, the 500 of a check
// that failed, and a webhook read from the Request's own stream with the limit applied while
// reading. Only web globals: it runs on Node, Bun, Deno and edge runtimes alike.
import type { Gate } from '../gate/create-gate';
import { PROBLEM_CONTENT_TYPE, problemOf } from '../gate/decision';
import { MAX_WEBHOOK_BYTES } from '../webhooks/handler';
import type { Answer } from './binding';
import { WebhookMountError } from '../shared/errors';
import { webhookHandlers, webhookPrecheck, webhookRejection, type WebhookRejection, type WebhookRouterOptions } from './webhook-route';

/** An answer (a denial, a replay) as a Response. */
export function answerResponse(a: Answer): Response {
  return new Response(a.body, { status: a.status, headers: a.headers });
}

const INTERNAL = JSON.stringify(problemOf(500, 'internal_error', 'Internal error', 'The request could not be checked.'));

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

export type WebBody =
  | { tooLarge: false; body: Uint8Array; failed?: undefined }
  | { tooLarge: true; failed?: undefined }
  /** `timeout`: the body did not arrive in time (408); `aborted`: the client left mid-way (nothing to answer). */
  | { tooLarge: false; failed: 'timeout' | 'aborted' };

const TOO_LARGE: WebBody = Object.freeze({ tooLarge: true });
const TIMED_OUT: WebBody = Object.freeze({ tooLarge: false, failed: 'timeout' });
const ABORTED: WebBody = Object.freeze({ tooLarge: false, failed: 'aborted' });
const noop = () => {};

/**
 * A Request's body as raw bytes, refused past `limit`: from Content-Length before reading, else as
 * soon as the stream passes it (the stream is cancelled), so an oversized body is never buffered
 * whole. Not `req.arrayBuffer()`: that reads to the end whatever the size, and however slowly.
 * Given up on after `timeoutMs`; a stream that errors (the client left) is `aborted`, not thrown.
 */
export async function readLimited(req: Request, limit = MAX_WEBHOOK_BYTES, timeoutMs?: number): Promise<WebBody> {
  const declared = req.headers.get('content-length');
  if (declared !== null && Number(declared) > limit) {
    req.body?.cancel().catch(noop);
    return TOO_LARGE;
  }
  if (req.body === null) return { tooLarge: false, body: new Uint8Array(0) };
  const reader = req.body.getReader();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = timeoutMs === undefined ? undefined : new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), timeoutMs)));
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for (;;) {
      let r: Awaited<ReturnType<typeof reader.read>> | 'timeout';
      try {
        r = await (late ? Promise.race([reader.read(), late]) : reader.read());
      } catch {
        return ABORTED;
      }
      if (r === 'timeout') {
        reader.cancel().catch(noop);
        return TIMED_OUT;
      }
      if (r.done) break;
      size += r.value.byteLength;
      if (size > limit) {
        reader.cancel().catch(noop);
        return TOO_LARGE;
      }
      chunks.push(r.value);
    }
  } finally {
    clearTimeout(timer);
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
    const raw = await readLimited(req, MAX_WEBHOOK_BYTES, gate.webhookBodyTimeoutMs);
    // aborted: the client left mid-body; nobody reads this answer, and it is no error of the app's.
    if (raw.failed) return raw.failed === 'timeout' ? rejectionResponse(webhookRejection('timeout')) : new Response(null, { status: 400, headers: CLOSE });
    if (raw.tooLarge) return rejectionResponse(webhookRejection('size'), CLOSE);
    const { status, body } = await gate.handleWebhook({ rawBody: raw.body, headers: req.headers });
    return Response.json(body, { status });
  };
}
