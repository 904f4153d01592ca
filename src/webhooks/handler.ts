// The framework-free webhook endpoint: raw bytes and headers in, status and body out. Verified
// (Standard Webhooks, or a custom verify), validated, de-duplicated by delivery (`webhook-id`), then the
// account's cache entries are dropped and user handlers run. A webhook only ever invalidates:
// the next request asks ecom9, so a forged event can never grant access.
import type { webcrypto } from 'node:crypto';
import { z } from 'zod';
import { explainRef } from '../shared/account-ref';
import type { StatsRecorder } from '../shared/stats';
import { importKeys, secretKey, verifySignature, type SignatureFailure } from './signature';
import type { ReplayGuard } from './replay';
import { ArgumentError } from '../shared/errors';

/** Largest webhook body accepted, in bytes. */
export const MAX_WEBHOOK_BYTES = 64 * 1024;

/** A webhook's body, validated (extra fields pass through). */
export interface WebhookPayload {
  event: string;
  transaction_id: string;
  account_ref_id: string;
  subscription_id?: string | null | undefined;
  is_active?: boolean | null | undefined;
  label_name?: string | null | undefined;
  timestamp?: string | null | undefined;
  [field: string]: unknown;
}

export const webhookPayloadSchema = z
  .object({
    event: z.string().min(1).max(200),
    transaction_id: z.string().min(1).max(200),
    account_ref_id: z.string().refine((ref) => explainRef(ref) === undefined, 'is not a valid account ref'),
    subscription_id: z.string().nullish(),
    is_active: z.boolean().nullish(),
    label_name: z.string().nullish(),
    timestamp: z.string().nullish(),
  })
  .passthrough() satisfies z.ZodType<WebhookPayload>;

export type WebhookHeaders = Headers | Record<string, string | readonly string[] | undefined>;

export interface WebhookInput {
  rawBody: Uint8Array | string;
  headers: WebhookHeaders;
  /** When the request arrived; the timestamp tolerance is measured from it. @default now */
  receivedAt?: Date;
}

export interface WebhookResult {
  status: number;
  body: Record<string, unknown>;
}

/** A user handler for one event name (or '*', for events no named handler takes). */
export type WebhookHandler = (event: WebhookPayload) => void | Promise<void>;

/**
 * A custom verifier for a scheme other than Standard Webhooks: true when the request is genuine.
 * `rawBody` is a Buffer where the runtime has one (Node, Bun, Deno), a plain Uint8Array on the edge.
 */
export type WebhookVerifier = (input: { rawBody: Uint8Array; headers: WebhookHeaders }) => boolean | Promise<boolean>;

export interface WebhookDeps {
  secrets: readonly string[];
  /** The secrets' own UTF-8 bytes are the keys (`webhooks.secretFormat: 'raw'`), not `whsec_` base64. */
  rawSecrets?: boolean;
  verify: WebhookVerifier | undefined;
  toleranceSeconds: number;
  replay: ReplayGuard;
  handlers: Map<string, Set<WebhookHandler>>;
  /** Drops the account everywhere; rejects when the shared store could not drop its copy. */
  invalidate: (accountRefId: string) => Promise<void>;
  stats: StatsRecorder;
  now: () => number;
  report: (err: unknown) => void;
}

const REASONS: Record<SignatureFailure, string> = {
  missing_headers: 'webhook-id, webhook-timestamp and webhook-signature headers are required',
  bad_timestamp: 'webhook-timestamp is not a Unix time in seconds',
  timestamp_out_of_tolerance: 'webhook-timestamp is outside the tolerance',
  bad_signature: 'no signature matches',
};

export function header(headers: WebhookHeaders, name: string): string | undefined {
  if (typeof (headers as Headers).get === 'function') return (headers as Headers).get(name) ?? undefined;
  const v = (headers as Record<string, string | readonly string[] | undefined>)[name];
  return Array.isArray(v) ? v.join(' ') : (v as string | undefined);
}

/**
 * What a repeat is recognised by: the delivery's `webhook-id` (Standard Webhooks' idempotency key,
 * the same on every retry of one delivery and signed with it), so two deliveries about one
 * transaction (created, then cancelled) are both processed. Only a delivery without one (a custom
 * `verify` for another scheme) falls back to the payload's transaction_id. Prefixed, so neither can
 * pose as the other.
 */
function deliveryId(headers: WebhookHeaders, event: WebhookPayload): string {
  const id = header(headers, 'webhook-id');
  return id ? `id:${id}` : `tx:${event.transaction_id}`;
}

const decoder = new TextDecoder();
const encoder = new TextEncoder();
const NodeBuffer = (globalThis as { Buffer?: { from(b: ArrayBufferLike, offset: number, length: number): Uint8Array } }).Buffer;

/** The body's bytes, without copying a view; a Buffer where the runtime has one (custom verifiers may read it as such). */
function bytesOf(raw: Uint8Array | string): Uint8Array {
  const bytes = typeof raw === 'string' ? encoder.encode(raw) : raw;
  return NodeBuffer ? NodeBuffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength) : bytes;
}

export class WebhookProcessor {
  private readonly keys: Uint8Array[];
  // Imported into WebCrypto on the first delivery (importKey is async); a bad secret already threw above.
  private cryptoKeys: Promise<webcrypto.CryptoKey[]> | undefined;

  constructor(private readonly d: WebhookDeps) {
    this.keys = d.secrets.map((s) => (d.rawSecrets ? encoder.encode(s) : secretKey(s)));
  }

  get verifies(): boolean {
    return this.keys.length > 0 || this.d.verify !== undefined;
  }

  async handle(input: WebhookInput): Promise<WebhookResult> {
    const { rawBody } = input;
    if (typeof rawBody !== 'string' && !(rawBody instanceof Uint8Array)) {
      throw new ArgumentError(
        'ecom9-gate: handleWebhook needs the raw request body (Buffer or string), but got a parsed object. ' +
          'Mount the webhook router before any body parser (express.json(), koa-bodyparser, ...), or give it the raw bytes.',
      );
    }
    this.d.stats.inc('webhooksReceived');
    const type = header(input.headers, 'content-type');
    if (type !== undefined && !/^application\/([\w.+-]+\+)?json\b/i.test(type)) {
      return this.reject(415, 'unsupported_media_type', 'webhooks are JSON');
    }
    const body = bytesOf(rawBody);
    if (body.byteLength > MAX_WEBHOOK_BYTES) return this.reject(413, 'payload_too_large', `the body exceeds ${MAX_WEBHOOK_BYTES} bytes`);
    const failure = await this.verify(body, input);
    if (failure) return this.reject(401, 'invalid_signature', failure);
    let json: unknown;
    try {
      json = JSON.parse(decoder.decode(body));
    } catch {
      return this.reject(400, 'malformed_json', 'the body is not JSON');
    }
    const parsed = webhookPayloadSchema.safeParse(json);
    if (!parsed.success) {
      const fields = [...new Set(parsed.error.issues.map((i) => i.path.join('.') || '(body)'))].join(', ');
      return this.reject(400, 'invalid_payload', `invalid fields: ${fields}`);
    }
    const event = parsed.data;
    const id = deliveryId(input.headers, event);
    if (!(await this.d.replay.claim(id))) {
      this.d.stats.inc('webhooksDuplicate');
      return { status: 200, body: { received: true, duplicate: true } };
    }
    try {
      await this.d.invalidate(event.account_ref_id);
    } catch (err) {
      // The shared store (Redis) still holds the account's facts: not remembered as processed, so
      // ecom9's retry drops them once the store is back. This instance's own entries are gone already.
      await this.d.replay.release(id);
      this.d.report(err);
      return { status: 503, body: { received: false, error: 'store_unavailable' } };
    }
    this.d.stats.publish('webhook', () => ({ event: event.event, accountRefId: event.account_ref_id, transactionId: event.transaction_id }));
    try {
      await this.runHandlers(event);
    } catch (err) {
      // Not remembered as processed, so ecom9's retry runs the handlers again; the invalidation stands.
      await this.d.replay.release(id);
      this.d.report(err);
      return { status: 500, body: { received: false, error: 'handler_failed' } };
    }
    return { status: 200, body: { received: true } };
  }

  private async verify(body: Uint8Array, input: WebhookInput): Promise<string | undefined> {
    if (this.d.verify) {
      try {
        return (await this.d.verify({ rawBody: body, headers: input.headers })) ? undefined : 'rejected by the custom verifier';
      } catch (err) {
        this.d.report(err);
        return 'the custom verifier threw';
      }
    }
    if (this.keys.length === 0) return undefined;
    const nowSeconds = Math.floor((input.receivedAt?.getTime() ?? this.d.now()) / 1000);
    this.cryptoKeys ??= importKeys(this.keys);
    const failure = await verifySignature({
      keys: await this.cryptoKeys,
      id: header(input.headers, 'webhook-id'),
      timestamp: header(input.headers, 'webhook-timestamp'),
      signature: header(input.headers, 'webhook-signature'),
      body,
      nowSeconds,
      toleranceSeconds: this.d.toleranceSeconds,
    });
    return failure ? REASONS[failure] : undefined;
  }

  private async runHandlers(event: WebhookPayload): Promise<void> {
    const named = this.d.handlers.get(event.event);
    const chosen = named && named.size > 0 ? named : this.d.handlers.get('*');
    if (!chosen) return;
    for (const h of chosen) await h(event);
  }

  private reject(status: number, error: string, detail: string): WebhookResult {
    this.d.stats.inc('webhooksRejected');
    return { status, body: { received: false, error, detail } };
  }
}
