// SHA-256 in base64url, synchronously, on every runtime: @noble/hashes, because node:crypto's createHash
// does not exist on the edge and WebCrypto's digest is async (a metered event's key is made in a
// synchronous response hook).
import { sha256 } from '@noble/hashes/sha2';

const encoder = new TextEncoder();

export function sha256Base64url(text: string): string {
  let s = '';
  for (const b of sha256(encoder.encode(text))) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}
