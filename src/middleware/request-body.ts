// The request body for an Idempotency-Key's fingerprint, asked only when a request carries a key:
// what the framework holds (raw bytes, or the value its parser made), or, for a Node stream nobody
// has read yet, its bytes read now and put back (`unshift` before 'end' is emitted), so the route's
// own body parser still reads them. Hand-written: no library peeks at a Node request and gives it
// back unread. Web requests are cloned (a tee) before the route reads them.
import type { IncomingMessage } from 'node:http';
import type { FingerprintBody } from '../idempotency/fingerprint';

/**
 * About the most of an unread body read ahead for a fingerprint (it stops at the first stream chunk
 * past it); the rest is left to the route, and the fingerprint is that prefix plus the declared length.
 * So a client cannot make the gate hold a body of any size in memory; two requests alike over this
 * many bytes and in length count as one request.
 */
export const MAX_FINGERPRINT_BYTES = 1024 * 1024;

/** What the framework left (`parsed`: express.json()'s req.body, Koa's rawBody, Fastify's body), else the unread stream's bytes. */
export function nodeBody(req: IncomingMessage, parsed: unknown): FingerprintBody | Promise<FingerprintBody> {
  if (parsed instanceof Uint8Array || typeof parsed === 'string') return parsed;
  if (parsed !== undefined) return { parsed };
  const declared = req.headers['content-length'];
  const hasBody = req.headers['transfer-encoding'] !== undefined || (declared !== undefined && declared !== '0');
  // Being read by someone else (flowing), or read already: what it held is not ours to see.
  if (!hasBody || req.readableEnded || req.readableFlowing === true || req.destroyed) return undefined;
  return peek(req);
}

function peek(req: IncomingMessage): Promise<Uint8Array> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const finish = (cut = false) => {
      if (done) return;
      done = true;
      req.off('readable', onReadable);
      req.off('error', ended);
      req.off('close', ended);
      const all = Buffer.concat(chunks);
      // Put back before 'end' could be emitted (it waits for the next tick and an empty buffer).
      if (all.byteLength > 0 && !req.readableEnded && !req.destroyed) req.unshift(all);
      const bytes = cut ? Buffer.concat([all, Buffer.from(`\u0000cut at ${all.byteLength} of ${req.headers['content-length'] ?? 'chunked'}`)]) : all;
      resolve(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    };
    const onReadable = () => {
      for (let c = req.read() as Buffer | null; c !== null; c = req.read() as Buffer | null) {
        chunks.push(c);
        size += c.byteLength;
        if (size >= MAX_FINGERPRINT_BYTES && !req.complete) return finish(true);
      }
      if (req.complete) finish();
    };
    const ended = () => finish();
    req.on('readable', onReadable);
    req.on('error', ended);
    req.on('close', ended);
  });
}

/** A web Request's body bytes, from a clone, so the route still reads the original; undefined once read. */
export function webBody(req: Request): FingerprintBody | Promise<FingerprintBody> {
  if (req.body === null || req.bodyUsed) return undefined;
  return req
    .clone()
    .arrayBuffer()
    .then((b) => new Uint8Array(b));
}

/** 'POST /images/large?n=2' of a URL, for a binding's `target`. */
export function targetOfUrl(method: string, url: string): string {
  const u = new URL(url, 'http://localhost');
  return `${method} ${u.pathname}${u.search}`;
}
