// Reads a request body as raw bytes up to the webhook limit, refusing early (from Content-Length, or
// as soon as the stream passes the limit) so an oversized body is never buffered whole, nor read to
// its end before the 413.
import type { IncomingMessage } from 'node:http';
import { MAX_WEBHOOK_BYTES } from '../webhooks/handler';
import { declaresBody, signedBytes } from './webhook-route';

export type RawBody = { tooLarge: false; body: Buffer } | { tooLarge: true; body?: undefined };

export function readRawBody(req: IncomingMessage, limit = MAX_WEBHOOK_BYTES): Promise<RawBody> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    req.resume();
    return Promise.resolve({ tooLarge: true });
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        cleanup();
        req.resume();
        resolve({ tooLarge: true });
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      resolve({ tooLarge: false, body: Buffer.concat(chunks, size) });
    };
    const onError = (err: Error) => {
      cleanup();
      reject(err);
    };
    const cleanup = () => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
  });
}

/**
 * A webhook's bytes as sent, for the routers that read the stream themselves (Express, Koa). When a
 * parser got there first (`parsed` is what the framework holds, or the stream is already read), the
 * rule is the one every router keeps (`signedBytes`): its raw Buffer, no bytes for a request that had
 * no body, else a mount error.
 */
export async function readSignedBody(req: IncomingMessage, parsed: unknown): Promise<RawBody> {
  // body-parser marks what it read with `_body`; any reader leaves the stream ended.
  const consumed = parsed !== undefined || req.readableEnded || (req as { _body?: unknown })._body === true || (req.complete && !req.readable);
  if (!consumed) return readRawBody(req);
  return { tooLarge: false, body: signedBytes(parsed, !declaresBody(req.headers)) };
}
