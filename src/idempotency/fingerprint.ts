// What binds an Idempotency-Key: the scope it lives in (which middleware, which account) and the
// fingerprint of the request it was first sent with (method, target, body bytes). WebCrypto's
// SHA-256, so it runs unchanged on the edge; both are hashes, so neither a key nor a body is stored.

/** The longest key accepted; longer ones are hashed like any other but refused as malformed. */
export const MAX_KEY_LENGTH = 255;

/**
 * The key from an `Idempotency-Key` header: Stripe's bare token or the IETF draft's structured-field
 * string (`"…"`, quotes dropped). Undefined for no header or an empty one; `null` for a malformed one
 * (over 255 characters, or characters outside printable ASCII).
 */
export function readIdempotencyKey(header: string | null | undefined): string | undefined | null {
  if (header === undefined || header === null) return undefined;
  let key = header.trim();
  if (key.length >= 2 && key.startsWith('"') && key.endsWith('"')) key = key.slice(1, -1);
  if (key === '') return undefined;
  if (key.length > MAX_KEY_LENGTH || !/^[\x20-\x7e]+$/.test(key)) return null;
  return key;
}

const encoder = new TextEncoder();

function base64url(bytes: ArrayBuffer): string {
  let s = '';
  for (const b of new Uint8Array(bytes)) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** The parts as one byte string, each length-prefixed, so no two different part lists give the same bytes. */
function joined(parts: readonly (string | Uint8Array)[]): Uint8Array {
  let size = 0;
  const chunks = parts.map((p) => (typeof p === 'string' ? encoder.encode(p) : p));
  for (const c of chunks) size += c.byteLength + 4;
  const all = new Uint8Array(size);
  const view = new DataView(all.buffer);
  let at = 0;
  for (const c of chunks) {
    view.setUint32(at, c.byteLength);
    all.set(c, at + 4);
    at += c.byteLength + 4;
  }
  return all;
}

async function sha256(parts: readonly (string | Uint8Array)[]): Promise<string> {
  return base64url(await crypto.subtle.digest('SHA-256', joined(parts)));
}

/** The body as the fingerprint sees it: raw bytes, or (after a parser) the parsed value. */
export type FingerprintBody = Uint8Array | string | undefined | { parsed: unknown };

/**
 * The request's fingerprint: its target (method, path with its parameters filled in, and query
 * string, as sent: 'POST /images/large?n=2') and body. Raw bytes where the framework still has them;
 * after a body parser, the parsed value as JSON (the same bytes parse to the same value, so a retry
 * matches; a different body does not).
 */
export function requestFingerprint(target: string, body: FingerprintBody): Promise<string> {
  let b: string | Uint8Array;
  if (body === undefined) b = '';
  else if (typeof body === 'string' || body instanceof Uint8Array) b = body;
  else b = `parsed:${safeJson(body.parsed)}`;
  return sha256([target, b]);
}

function safeJson(v: unknown): string {
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    // A parsed body JSON cannot hold (a cycle, a BigInt): its string form, which a retry repeats.
    return String(v);
  }
}

/** Where a key lives: the same key from another account, or on another middleware, is another key. */
export function idempotencyScope(namespace: string, accountRefId: string, key: string): Promise<string> {
  return sha256([namespace, accountRefId, key]);
}
