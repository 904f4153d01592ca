// Reads a request body as raw bytes up to the webhook limit, refusing early (from Content-Length, or
// as soon as the stream passes the limit) so an oversized body is never buffered whole, nor read to
// its end before the 413. A body that takes longer than the webhook body timeout is given up on
// (408), and one whose client left mid-way is no error of the app's: nothing is answered to it.
import type { IncomingMessage } from 'node:http';
import { MAX_WEBHOOK_BYTES } from '../webhooks/handler';
import { declaresBody, signedBytes } from './webhook-route';

export type RawBody =
  | { tooLarge: false; body: Buffer; failed?: undefined }
  | { tooLarge: true; body?: undefined; failed?: undefined }
  /** `timeout`: the body did not arrive in time (answer 408); `aborted`: the client left (answer nothing). */
  | { tooLarge: false; body?: undefined; failed: 'timeout' | 'aborted' };

const TIMED_OUT: RawBody = Object.freeze({ tooLarge: false, failed: 'timeout' });
const ABORTED: RawBody = Object.freeze({ tooLarge: false, failed: 'aborted' });

export function readRawBody(req: IncomingMessage, limit = MAX_WEBHOOK_BYTES, timeoutMs?: number): Promise<RawBody> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    req.resume();
    return Promise.resolve({ tooLarge: true });
  }
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const settle = (r: RawBody) => {
      cleanup();
      resolve(r);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        settle({ tooLarge: true });
        req.resume();
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => settle({ tooLarge: false, body: Buffer.concat(chunks, size) });
    // Every error of a request stream is the transport's (the client reset or left): not the app's.
    const onAbort = () => settle(ABORTED);
    const timer = timeoutMs === undefined ? undefined : setTimeout(() => settle(TIMED_OUT), timeoutMs);
    const cleanup = () => {
      clearTimeout(timer);
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onAbort);
      req.off('close', onAbort);
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onAbort);
    req.on('close', onAbort);
  });
}

/**
 * Whether something read the request's body before us: `parsed` (what the framework holds) is set,
 * body-parser marked it (`_body`), or the stream is read. No 'end' comes again for such a body.
 */
export function bodyConsumed(req: IncomingMessage, parsed?: unknown): boolean {
  return parsed !== undefined || req.readableEnded || (req as { _body?: unknown })._body === true || (req.complete && !req.readable);
}

/**
 * A webhook's bytes as sent, for the routers that read the stream themselves (Express, Koa). When a
 * parser got there first (`parsed` is what the framework holds, or the stream is already read), the
 * rule is the one every router keeps (`signedBytes`): its raw Buffer, no bytes for a request that had
 * no body, else a mount error.
 */
export async function readSignedBody(req: IncomingMessage, parsed: unknown, timeoutMs?: number): Promise<RawBody> {
  if (!bodyConsumed(req, parsed)) return readRawBody(req, MAX_WEBHOOK_BYTES, timeoutMs);
  return { tooLarge: false, body: signedBytes(parsed, !declaresBody(req.headers)) };
}
