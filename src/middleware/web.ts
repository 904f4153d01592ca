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
