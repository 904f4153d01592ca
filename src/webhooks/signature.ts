// Standard Webhooks signatures (https://www.standardwebhooks.com): verification for the gate through
// WebCrypto (every runtime has it, workerd without flags included), signing for the emulator and tests.
// HMAC-SHA256 over `${id}.${timestamp}.${body}`, keyed with the base64 secret after `whsec_`, sent as
// space-separated `v1,<base64>` entries. The constant-time comparison is hand-written: WebCrypto has
// none, and node:crypto's timingSafeEqual does not exist on the edge.
import { OPTION_DEFAULTS } from '../shared/defaults';
import { ArgumentError } from '../shared/errors';
import type { webcrypto } from 'node:crypto';
import { nodeBuiltin } from '../shared/runtime';

/** Seconds either side of now that a webhook timestamp may be off by. */
export const DEFAULT_TOLERANCE_SECONDS = OPTION_DEFAULTS.webhooks.toleranceSeconds;

const SECRET_PREFIX = 'whsec_';
const encoder = new TextEncoder();

/** Decodes a `whsec_...` secret (or a bare base64 one) to the HMAC key bytes. */
export function secretKey(secret: string): Uint8Array {
  const b64 = (secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret).replace(/\s+/g, '').replace(/-/g, '+').replace(/_/g, '/');
  let key: Uint8Array | undefined;
  try {
    key = fromBase64(b64.padEnd(Math.ceil(b64.length / 4) * 4, '='));
  } catch {
    key = undefined;
  }
  if (!key || key.length === 0) throw new ArgumentError('webhookSecret: not a base64 key (expected "whsec_<base64>")');
  return key;
}

/** The HMAC keys for WebCrypto, imported once per secret. */
export function importKeys(keys: readonly Uint8Array[]): Promise<webcrypto.CryptoKey[]> {
  return Promise.all(keys.map((k) => crypto.subtle.importKey('raw', k, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign'])));
}

function signedContent(id: string, timestamp: string, body: Uint8Array | string): Uint8Array {
  const head = encoder.encode(`${id}.${timestamp}.`);
  const tail = typeof body === 'string' ? encoder.encode(body) : body;
  const out = new Uint8Array(head.length + tail.length);
  out.set(head);
  out.set(tail, head.length);
  return out;
}

/**
 * The `webhook-signature` header value for one payload: `v1,<base64>`. Synchronous, so it needs
 * node:crypto (Node, Bun, Deno, workerd with nodejs_compat); the gate itself verifies through WebCrypto.
 */
export function signWebhook(input: { secret: string; id: string; timestamp: number | string; body: Uint8Array | string }): string {
  const nodeCrypto = nodeBuiltin('node:crypto');
  if (!nodeCrypto) throw new ArgumentError('ecom9-gate: signWebhook needs node:crypto (Node, Bun, Deno, or workerd with nodejs_compat)');
  const mac = nodeCrypto
    .createHmac('sha256', secretKey(input.secret))
    .update(signedContent(input.id, String(input.timestamp), input.body))
    .digest();
  return `v1,${toBase64(mac)}`;
}

/** The three Standard Webhooks headers for a payload, ready to send. */
export function webhookHeaders(input: {
  secret: string;
  id: string;
  timestamp: number;
  body: Uint8Array | string;
}): Record<'webhook-id' | 'webhook-timestamp' | 'webhook-signature', string> {
  return {
    'webhook-id': input.id,
    'webhook-timestamp': String(input.timestamp),
    'webhook-signature': signWebhook(input),
  };
}

export type SignatureFailure = 'missing_headers' | 'bad_timestamp' | 'timestamp_out_of_tolerance' | 'bad_signature';

/**
 * Checks a Standard Webhooks signature against one or more keys (several during a rotation).
 * Resolves null when one of the header's signatures matches one of the keys, else why not.
 */
export async function verifySignature(input: {
  keys: readonly webcrypto.CryptoKey[];
  id: string | undefined;
  timestamp: string | undefined;
  signature: string | undefined;
  body: Uint8Array;
  nowSeconds: number;
  toleranceSeconds?: number;
}): Promise<SignatureFailure | null> {
  const { id, timestamp, signature } = input;
  if (!id || !timestamp || !signature) return 'missing_headers';
  if (!/^\d{1,12}$/.test(timestamp)) return 'bad_timestamp';
  const tolerance = input.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
  if (Math.abs(input.nowSeconds - Number(timestamp)) > tolerance) return 'timestamp_out_of_tolerance';
  // Compared as canonical base64 text, not decoded bytes: base64 decoders skip stray characters and
  // ignore padding bits, so decoding first would accept altered signatures.
  const offered: Uint8Array[] = [];
  for (const part of signature.split(' ')) {
    const comma = part.indexOf(',');
    if (comma < 0 || part.slice(0, comma) !== 'v1') continue;
    offered.push(encoder.encode(part.slice(comma + 1)));
  }
  if (offered.length === 0) return 'bad_signature';
  const content = signedContent(id, timestamp, input.body);
  for (const key of input.keys) {
    const expected = encoder.encode(toBase64(new Uint8Array(await crypto.subtle.sign('HMAC', key, content))));
    for (const sig of offered) if (equalConstantTime(sig, expected)) return null;
  }
  return 'bad_signature';
}

/** Equal bytes, in a time that depends only on the length (which is not secret: a digest's is fixed). */
function equalConstantTime(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= (a[i] as number) ^ (b[i] as number);
  return diff === 0;
}

function toBase64(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s);
}

function fromBase64(b64: string): Uint8Array {
  const s = atob(b64);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}
