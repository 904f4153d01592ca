// Idempotency-Keys in the core, in memory and in the fleet's Redis: a key is claimed once; a reuse
// with another fingerprint is a 422, while the first runs a 409, after it a replay of its exact
// bytes; a response too large to keep or cut short is a 409, never a second run; another account's
// key is another key; keys expire with ttlMs; Redis down refuses (503), it never runs unrecorded.
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IdempotencyKeeper, type Begin } from '../src/idempotency/keeper';
import { memoryIdempotencyStore, type IdempotencyStore } from '../src/idempotency/store';
import { readIdempotencyKey, requestFingerprint } from '../src/idempotency/fingerprint';
import { redisIdempotencyStore } from '../src/redis/idempotency-store';
import { manualClock } from './support/env';
import { ensureRedis, privateRedis } from './support/redis';

let shared: string;
let redis: Redis;
beforeAll(async () => {
  shared = await ensureRedis();
  redis = new Redis(shared);
});
afterAll(() => redis.disconnect());

const noReport = () => {};
const bytes = (s: string) => new TextEncoder().encode(s);
const run = (b: Begin) => {
  if (b.kind !== 'run') throw new Error(`expected run, got ${b.kind}`);
  return b;
};
const answered = (status: number, body: string | undefined, headers: [string, unknown][] = [['content-type', 'application/json']]) => ({
  status,
  headers,
  body: body === undefined ? undefined : bytes(body),
});

describe('readIdempotencyKey and requestFingerprint', () => {
  it('takes a bare token or a structured-field string, refuses a malformed one', () => {
    expect(readIdempotencyKey('abc-123')).toBe('abc-123');
    expect(readIdempotencyKey('"8e03978e-40d5-43e8-bc93-6894a57f9324"')).toBe('8e03978e-40d5-43e8-bc93-6894a57f9324');
    expect(readIdempotencyKey(undefined)).toBeUndefined();
    expect(readIdempotencyKey('  ')).toBeUndefined();
    expect(readIdempotencyKey('x'.repeat(256))).toBeNull();
    expect(readIdempotencyKey('caf\u00e9')).toBeNull();
  });
  it('differs by method, path parameter, query and body bytes; parsed bodies by value', async () => {
    const base = await requestFingerprint('POST /images/small', bytes('{"p":"cat"}'));
    expect(await requestFingerprint('POST /images/small', '{"p":"cat"}')).toBe(base);
    for (const other of [
      requestFingerprint('PUT /images/small', bytes('{"p":"cat"}')),
      requestFingerprint('POST /images/large', bytes('{"p":"cat"}')),
      requestFingerprint('POST /images/small?n=2', bytes('{"p":"cat"}')),
      requestFingerprint('POST /images/small', bytes('{"p":"dog"}')),
      requestFingerprint('POST /images/small', undefined),
    ])
      expect(await other).not.toBe(base);
    expect(await requestFingerprint('POST /x', { parsed: { a: 1 } })).toBe(await requestFingerprint('POST /x', { parsed: { a: 1 } }));
    expect(await requestFingerprint('POST /x', { parsed: { a: 1 } })).not.toBe(await requestFingerprint('POST /x', { parsed: { a: 2 } }));
  });
});

function storeContract(name: string, make: (ttlMs: number, clock: ReturnType<typeof manualClock>) => Promise<IdempotencyStore> | IdempotencyStore) {
  describe(`IdempotencyKeeper over the ${name} store`, () => {
    const keeper = async (maxBodyBytes = 1024, ttlMs = 60_000, clock = manualClock()) =>
      new IdempotencyKeeper(await make(ttlMs, clock), { maxBodyBytes }, noReport);

    it('runs the first request once; 50 sequential reuses with other bodies are 422, the same body replays the exact bytes', async () => {
      const k = await keeper();
      const key = randomUUID();
      const first = run(await k.begin('charge', 'acc', key, 'fp-0'));
      first.complete(
        answered(201, '{"image":"cat-0"}', [
          ['content-type', 'application/json'],
          ['set-cookie', 's=1'],
          ['date', 'now'],
        ]),
      );
      await new Promise((r) => setTimeout(r, 20));
      let runs = 1;
      const codes: string[] = [];
      for (let i = 1; i <= 49; i++) {
        const b = await k.begin('charge', 'acc', key, `fp-${i}`);
        if (b.kind === 'run') runs++;
        else if (b.kind === 'deny') codes.push(b.code);
      }
      expect(runs).toBe(1);
      expect(new Set(codes)).toEqual(new Set(['idempotency_key_mismatch']));
      expect(codes).toHaveLength(49);
      const again = await k.begin('charge', 'acc', key, 'fp-0');
      expect(again.kind).toBe('replay');
      if (again.kind !== 'replay') return;
      expect(again.response.status).toBe(201);
      expect(new TextDecoder().decode(again.response.body)).toBe('{"image":"cat-0"}');
      // Set-Cookie and per-response headers are never handed out again.
      expect(again.response.headers).toEqual([['content-type', 'application/json']]);
    });

    it('20 concurrent claims of one key: one runs, the rest are told it is in flight', async () => {
      const k = await keeper();
      const key = randomUUID();
      const all = await Promise.all(Array.from({ length: 20 }, () => k.begin('charge', 'acc', key, 'fp')));
      expect(all.filter((b) => b.kind === 'run')).toHaveLength(1);
      expect(all.filter((b) => b.kind === 'deny' && b.code === 'idempotency_key_in_flight')).toHaveLength(19);
    });

    it("another account's key, or another namespace, is another key", async () => {
      const k = await keeper();
      const key = randomUUID();
      run(await k.begin('charge', 'acc-a', key, 'fp'));
      expect((await k.begin('charge', 'acc-b', key, 'fp-other')).kind).toBe('run');
      expect((await k.begin('meter', 'acc-a', key, 'fp')).kind).toBe('run');
    });

    it('a response past maxBodyBytes, or never completed, makes a reuse 409 not_replayable', async () => {
      const k = await keeper(8);
      const big = randomUUID();
      run(await k.begin('charge', 'acc', big, 'fp')).complete(answered(200, '0123456789'));
      const cut = randomUUID();
      run(await k.begin('charge', 'acc', cut, 'fp')).complete(answered(200, undefined));
      await new Promise((r) => setTimeout(r, 20));
      for (const key of [big, cut]) {
        const b = await k.begin('charge', 'acc', key, 'fp');
        expect(b.kind === 'deny' && b.code).toBe('idempotency_key_not_replayable');
      }
    });

    it('released (no paid work) or a 5xx frees the key; a 4xx answer is kept and replayed', async () => {
      const k = await keeper();
      const denied = randomUUID();
      run(await k.begin('charge', 'acc', denied, 'fp')).release();
      const failed = randomUUID();
      run(await k.begin('charge', 'acc', failed, 'fp')).complete(answered(500, '{"error":"boom"}'));
      const refused = randomUUID();
      run(await k.begin('charge', 'acc', refused, 'fp')).complete(answered(400, '{"error":"bad prompt"}'));
      await new Promise((r) => setTimeout(r, 20));
      expect((await k.begin('charge', 'acc', denied, 'fp')).kind).toBe('run');
      expect((await k.begin('charge', 'acc', failed, 'fp')).kind).toBe('run');
      const r = await k.begin('charge', 'acc', refused, 'fp');
      expect(r.kind === 'replay' && r.response.status).toBe(400);
    });
  });
}

storeContract('memory', (ttlMs, clock) => memoryIdempotencyStore({ ttlMs, max: 1_000, maxMemoryBytes: 1 << 20, now: clock.now }));
storeContract('Redis', () => redisIdempotencyStore(redis, { prefix: `test-idem-${randomUUID()}:`, ttlMs: 60_000, timeoutMs: 1_000, report: noReport }));

describe('keys kept and lost', () => {
  it('memory: a key expires after ttlMs; a response dropped for room leaves its key (409, not a run)', async () => {
    const clock = manualClock();
    const store = memoryIdempotencyStore({ ttlMs: 1_000, max: 100, maxMemoryBytes: 200, now: clock.now });
    const k = new IdempotencyKeeper(store, { maxBodyBytes: 80 }, noReport);
    run(await k.begin('charge', 'acc', 'a', 'fp')).complete(answered(200, 'x'.repeat(60)));
    run(await k.begin('charge', 'acc', 'b', 'fp')).complete(answered(200, 'y'.repeat(60)));
    const a = await k.begin('charge', 'acc', 'a', 'fp');
    expect(a.kind === 'deny' && a.code).toBe('idempotency_key_not_replayable');
    expect((await k.begin('charge', 'acc', 'b', 'fp')).kind).toBe('replay');
    clock.advance(1_001);
    expect((await k.begin('charge', 'acc', 'b', 'fp')).kind).toBe('run');
  });

  it('Redis: a retry on another instance (another connection) is replayed there; Redis down is 503, never a run', async () => {
    const prefix = `test-idem-${randomUUID()}:`;
    const other = new Redis(shared);
    try {
      const one = new IdempotencyKeeper(
        redisIdempotencyStore(redis, { prefix, ttlMs: 60_000, timeoutMs: 1_000, report: noReport }),
        { maxBodyBytes: 1024 },
        noReport,
      );
      const two = new IdempotencyKeeper(
        redisIdempotencyStore(other, { prefix, ttlMs: 60_000, timeoutMs: 1_000, report: noReport }),
        { maxBodyBytes: 1024 },
        noReport,
      );
      const body = new Uint8Array([0, 255, 1, 254, 10, 13]);
      run(await one.begin('charge', 'acc', 'k', 'fp')).complete({ status: 200, headers: [['content-type', 'application/octet-stream']], body });
      await new Promise((r) => setTimeout(r, 50));
      const b = await two.begin('charge', 'acc', 'k', 'fp');
      expect(b.kind).toBe('replay');
      if (b.kind === 'replay') expect([...b.response.body]).toEqual([...body]);
    } finally {
      other.disconnect();
    }
    const down = await privateRedis();
    const conn = new Redis(down.url, { enableOfflineQueue: false, maxRetriesPerRequest: 0 });
    conn.on('error', () => {});
    await new Promise((r) => conn.once('ready', r));
    await down.stop();
    const k = new IdempotencyKeeper(redisIdempotencyStore(conn, { prefix, ttlMs: 60_000, timeoutMs: 200, report: noReport }), { maxBodyBytes: 1024 }, noReport);
    const b = await k.begin('charge', 'acc', 'k2', 'fp');
    expect(b.kind === 'deny' && b.code).toBe('idempotency_unavailable');
    conn.disconnect();
  });
});
