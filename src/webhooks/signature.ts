// Standard Webhooks signatures (https://www.standardwebhooks.com): signing for the emulator and for
// tests, verification for the gate. HMAC-SHA256 over `${id}.${timestamp}.${body}`, keyed with the
// base64 secret after `whsec_`, sent as space-separated `v1,<base64>` entries.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { OPTION_DEFAULTS } from '../shared/defaults';
import { ArgumentError } from '../shared/errors';

/** Seconds either side of now that a webhook timestamp may be off by. */
export const DEFAULT_TOLERANCE_SECONDS = OPTION_DEFAULTS.webhooks.toleranceSeconds;

const SECRET_PREFIX = 'whsec_';

/** Decodes a `whsec_...` secret (or a bare base64 one) to the HMAC key bytes. */
export function secretKey(secret: string): Buffer {
  const b64 = secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret;
  const key = Buffer.from(b64, 'base64');
  if (key.length === 0) throw new ArgumentError('webhookSecret: not a base64 key (expected "whsec_<base64>")');
  return key;
}

function digest(key: Buffer, id: string, timestamp: string, body: Buffer | string): Buffer {
  const hmac = createHmac('sha256', key);
  hmac.update(`${id}.${timestamp}.`);
  hmac.update(body);
  return hmac.digest();
}

/** The `webhook-signature` header value for one payload: `v1,<base64>`. */
export function signWebhook(input: { secret: string; id: string; timestamp: number | string; body: Buffer | string }): string {
  const mac = digest(secretKey(input.secret), input.id, String(input.timestamp), input.body);
  return `v1,${mac.toString('base64')}`;
}

/** The three Standard Webhooks headers for a payload, ready to send. */
export function webhookHeaders(input: {
  secret: string;
  id: string;
  timestamp: number;
  body: Buffer | string;
}): Record<'webhook-id' | 'webhook-timestamp' | 'webhook-signature', string> {
  return {
    'webhook-id': input.id,
    'webhook-timestamp': String(input.timestamp),
    'webhook-signature': signWebhook(input),
  };
}

export type SignatureFailure = 'missing_headers' | 'bad_timestamp' | 'timestamp_out_of_tolerance' | 'bad_signature';

/**
 * Checks a Standard Webhooks signature against one or more secrets (several during a rotation).
 * Returns null when one of the header's signatures matches one of the secrets, else why not.
 * Comparison is constant-time on equal-length values; lengths are checked first because
 * `timingSafeEqual` throws on a mismatch.
 */
export function verifySignature(input: {
  secrets: readonly Buffer[];
  id: string | undefined;
  timestamp: string | undefined;
  signature: string | undefined;
  body: Buffer;
  nowSeconds: number;
  toleranceSeconds?: number;
}): SignatureFailure | null {
  const { id, timestamp, signature } = input;
  if (!id || !timestamp || !signature) return 'missing_headers';
  if (!/^\d{1,12}$/.test(timestamp)) return 'bad_timestamp';
  const tolerance = input.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
  if (Math.abs(input.nowSeconds - Number(timestamp)) > tolerance) return 'timestamp_out_of_tolerance';
  // Compared as canonical base64 text, not decoded bytes: Node's base64 decoder skips stray characters
  // and ignores padding bits, so decoding first would accept altered signatures.
  const offered: Buffer[] = [];
  for (const part of signature.split(' ')) {
    const comma = part.indexOf(',');
    if (comma < 0 || part.slice(0, comma) !== 'v1') continue;
    offered.push(Buffer.from(part.slice(comma + 1)));
  }
  for (const key of input.secrets) {
    const expected = Buffer.from(digest(key, id, timestamp, input.body).toString('base64'));
    for (const sig of offered) {
      if (sig.length === expected.length && timingSafeEqual(sig, expected)) return null;
    }
  }
  return 'bad_signature';
}
