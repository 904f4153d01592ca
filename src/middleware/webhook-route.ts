// What the three webhook routers share besides gate.handleWebhook: registering the user's handlers,
// the start-up warning, the answers given before the body is read (405, 413, 415), the path check,
// and the error for a body that a parser already consumed.
import type { IncomingHttpHeaders } from 'node:http';
import { OptionsError, WebhookMountError } from '../shared/errors';
import type { Gate } from '../gate/create-gate';
import { MAX_WEBHOOK_BYTES, type WebhookHandler } from '../webhooks/handler';

export interface WebhookRouterOptions {
  /**
   * Handlers by event name; '*' takes the events no named handler takes. They run after the
   * invalidation. They are registered on the gate (like gate.onWebhook), so every router of the
   * gate runs them.
   */
  handlers?: Record<string, WebhookHandler>;
}

/** Registers the router's handlers and warns once if webhooks are not verified. */
export function webhookHandlers(gate: Gate, opts: WebhookRouterOptions): void {
  gate.prepareWebhooks();
  for (const [event, handler] of Object.entries(opts.handlers ?? {})) gate.onWebhook(event, handler);
}

/** Refuses a webhook path that a router could never match; the value is not echoed. */
export function checkWebhookPath(path: unknown, option: string): asserts path is string {
  if (typeof path !== 'string' || !path.startsWith('/')) throw new OptionsError(`ecom9-gate: ${option} must be a path starting with /`);
}

/** An answer a router gives without asking handleWebhook, in the same shape as handleWebhook's. */
export interface WebhookRejection {
  status: number;
  headers: Readonly<Record<string, string>>;
  body: { received: false; error: string; detail: string };
}

const rejection = (status: number, error: string, detail: string, headers: Record<string, string> = {}): WebhookRejection =>
  Object.freeze({ status, headers: Object.freeze(headers), body: Object.freeze({ received: false as const, error, detail }) });

const REJECTIONS = {
  method: rejection(405, 'method_not_allowed', 'ecom9 delivers webhooks with POST', { allow: 'POST' }),
  // The rest of the body is drained, never kept: the connection is closed after the answer, or a
  // sender streaming a chunked body without end held it (and the server's reading) open for ever.
  size: rejection(413, 'payload_too_large', `the body exceeds ${MAX_WEBHOOK_BYTES} bytes`, { connection: 'close' }),
  // Decoding first would verify other bytes than the ones sent (and invite decompression bombs);
  // ecom9 never compresses a delivery.
  encoding: rejection(415, 'unsupported_media_type', 'a webhook body must not be compressed (Content-Encoding)'),
  // The rest of the body is never read: the connection is closed after the answer.
  timeout: rejection(408, 'request_timeout', 'the body did not arrive in time (webhooks.bodyTimeoutMs)', { connection: 'close' }),
};

export function webhookRejection(kind: keyof typeof REJECTIONS): WebhookRejection {
  return REJECTIONS[kind];
}

/** What every router checks before it reads a byte: POST only, and the body as sent, not encoded. */
export function webhookPrecheck(method: string | undefined, headers: IncomingHttpHeaders): WebhookRejection | undefined {
  if (method !== 'POST') return REJECTIONS.method;
  const coding = headers['content-encoding'];
  if (coding !== undefined && coding.trim().toLowerCase() !== 'identity') return REJECTIONS.encoding;
  return undefined;
}

/**
 * True when the request says it has a body (Content-Length or Transfer-Encoding, as RFC 9112 frames
 * it). A POST with neither has an empty body: nothing can have consumed it.
 */
export function declaresBody(headers: IncomingHttpHeaders): boolean {
  return headers['transfer-encoding'] !== undefined || headers['content-length'] !== undefined;
}

/**
 * The bytes to verify: the raw parser's Buffer; none when the request has no body (a parser skips
 * it, and there is nothing anyone could have consumed); anything else means a parser got there first.
 */
export function signedBytes(parsed: unknown, bodiless: boolean): Buffer {
  if (Buffer.isBuffer(parsed)) return parsed;
  // Made per call, not at load: this module also loads on the edge, where Buffer does not exist.
  if (bodiless) return Buffer.alloc(0);
  throw webhookBodyError();
}

export function webhookBodyError(): WebhookMountError {
  return new WebhookMountError(
    'ecom9-gate: the webhook body was already consumed by a body parser, so its signature cannot be checked. ' +
      'Mount the webhook router before express.json() / koa-bodyparser (or exclude its path from them); ' +
      'in Fastify, register the plugin with `webhookPath` and do not add a parser for that route.',
  );
}
