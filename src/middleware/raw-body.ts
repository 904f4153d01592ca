// Reads a request body as raw bytes up to the webhook limit, refusing early (from Content-Length, or
// as soon as the stream passes the limit) so an oversized body is never buffered whole.
import type { IncomingMessage } from 'node:http';
import { MAX_WEBHOOK_BYTES } from '../webhooks/handler';

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
