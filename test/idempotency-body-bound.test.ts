// An Idempotency-Key makes the gate read an unread Node body before the route (for the request's
// fingerprint) and give it back. An attacker with an account must not make it hold an unbounded body
// in memory: about MAX_FINGERPRINT_BYTES are read ahead, and the route still reads the whole body.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, expect, it } from 'vitest';
import { MAX_FINGERPRINT_BYTES, nodeBody } from '../src/middleware/request-body';

let server: Server | undefined;
afterEach(async () => {
  await new Promise((r) => (server ? server.close(r) : r(undefined)));
  server = undefined;
});

/** A real server whose route first asks for the fingerprint body, then reads the body itself. */
async function serve(): Promise<{ url: string; seen: Promise<{ peeked: number; routeRead: number }> }> {
  let report!: (v: { peeked: number; routeRead: number }) => void;
  const seen = new Promise<{ peeked: number; routeRead: number }>((r) => (report = r));
  server = createServer(async (req, res) => {
    const body = await nodeBody(req, undefined);
    const peeked = body instanceof Uint8Array ? body.byteLength : -1;
    let routeRead = 0;
    for await (const chunk of req) routeRead += (chunk as Buffer).byteLength;
    report({ peeked, routeRead });
    res.end('ok');
  });
  await new Promise<void>((r) => server?.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

it('reads ahead at most MAX_FINGERPRINT_BYTES of a large body, and the route still reads all of it', async () => {
  const { url, seen } = await serve();
  const size = MAX_FINGERPRINT_BYTES * 8;
  const res = await fetch(url, { method: 'POST', body: new Uint8Array(size).fill(7), headers: { 'idempotency-key': 'k' } });
  expect(await res.text()).toBe('ok');
  const { peeked, routeRead } = await seen;
  // The prefix read ahead (at most one stream chunk, 64 KiB, past the bound), plus a short marker.
  expect(peeked).toBeLessThan(MAX_FINGERPRINT_BYTES + 64 * 1024 + 64);
  expect(routeRead).toBe(size);
});

it('reads a small body whole, and gives it back whole', async () => {
  const { url, seen } = await serve();
  const res = await fetch(url, { method: 'POST', body: 'x'.repeat(1000) });
  expect(await res.text()).toBe('ok');
  expect(await seen).toEqual({ peeked: 1000, routeRead: 1000 });
});
