// The fleet sharing one Redis store: one upstream call per account for every instance (in one process
// and across processes), none for a new instance; a lock holder killed mid-fetch stalls nobody past
// the lock's expiry; an invalidation racing a fetch is never undone by it; expiry follows the gate's
// TTLs; Redis restarted, paused or out of memory never fails a check and adds at most a bounded delay.
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Emulator } from 'ecom9-gate/emulator';
import type { Gate, GateOptions } from 'ecom9-gate';
import { redisStore, type RedisStore, type RedisStoreOptions } from 'ecom9-gate/redis';
import { gateFor, manualClock, startEmulator } from './support/env';
import { startInstance, type Instance } from './support/processes';
import { ensureRedis, privateRedis } from './support/redis';

let emu: Emulator;
let shared: string;
let admin: Redis;
beforeAll(async () => {
  emu = await startEmulator();
  shared = await ensureRedis();
  admin = new Redis(shared);
});
afterAll(async () => {
  admin.disconnect();
  await emu.close();
});

const PRO = 'pro';
const statusCalls = (acc: string) => emu.callCount('accounts.status', acc);
const proAccount = (name: string) => {
  const acc = `${name}-${randomUUID()}`;
  emu.setAccount(acc, { customerEmail: 'x@example.com', subscriptions: [{ subscription: 'studio-suite', tier: PRO }] });
  return acc;
};

const open: Gate[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((g) => g.close()));
});

/** A gate on the emulator with its own store, connected before it is handed back. */
async function fleetGate(store: Partial<RedisStoreOptions> & { prefix: string }, opts: GateOptions = {}): Promise<{ gate: Gate; store: RedisStore }> {
  const s = redisStore({ url: shared, ...store });
  const gate = gateFor(emu, { ...opts, store: s, onError: () => {} });
  open.push(gate);
  await vi.waitFor(() => expect(s.connected).toBe(true), { timeout: 5_000 });
  return { gate, store: s };
}

const fleet = async (n: number, store: Partial<RedisStoreOptions> & { prefix: string }, opts: GateOptions = {}) =>
  Promise.all(Array.from({ length: n }, () => fleetGate(store, opts)));

const tierOf = (i: Instance, acc: string) => fetch(`${i.url}/tier`, { headers: { 'x-account': acc } });
const statsOf = async (i: Instance) => (await (await fetch(`${i.url}/stats`)).json()) as Record<string, number>;

describe('one upstream call for the fleet', () => {
  it('N gates cold on one account make 1 upstream call; a new gate then makes none', async () => {
    const prefix = `t-${randomUUID()}:`;
    const gates = await fleet(6, { prefix });
    const acc = proAccount('cold');
    const decisions = await Promise.all(gates.map(({ gate }) => gate.checkTier(acc, { tiers: PRO })));
    expect(decisions.map((d) => d.allowed)).toEqual([true, true, true, true, true, true]);
    expect(statusCalls(acc)).toBe(1);
    const stats = gates.map(({ gate }) => gate.stats());
    expect(stats.reduce((n, s) => n + s.storeMisses, 0)).toBe(1);
    expect(stats.reduce((n, s) => n + s.storeErrors, 0)).toBe(0);

    const { gate: late } = await fleetGate({ prefix });
    expect((await late.checkTier(acc, { tiers: PRO })).allowed).toBe(true);
    expect(statusCalls(acc)).toBe(1);
    expect(late.stats()).toMatchObject({ storeHits: 1, storeMisses: 0 });
    // And from then on from its own cache, without Redis.
    expect((await late.checkTier(acc, { tiers: PRO })).source).toBe('cache');
  });

  it('N processes cold on one account make 1 upstream call, whoever asks first', async () => {
    const prefix = `p-${randomUUID()}:`;
    const env = { REDIS_URL: shared, EMU_URL: emu.url, EMU_KEY: emu.apiKey, PREFIX: prefix };
    const procs = await Promise.all([1, 2, 3].map(() => startInstance(env, 'store-child.ts')));
    try {
      const acc = proAccount('procs');
      // The emulator holds the first call, so every process is asking while it is in flight.
      emu.inject({ endpoint: 'accounts.status', accountRefId: acc, kind: 'latency', ms: 300, times: 1 });
      const answers = await Promise.all(procs.flatMap((p) => [tierOf(p, acc), tierOf(p, acc)]));
      expect(answers.map((r) => r.status)).toEqual([200, 200, 200, 200, 200, 200]);
      expect(statusCalls(acc)).toBe(1);
      const stats = await Promise.all(procs.map(statsOf));
      expect(stats.reduce((n, s) => n + (s.storeMisses ?? 0), 0)).toBe(1);
      expect(stats.reduce((n, s) => n + (s.storeLockWaits ?? 0), 0)).toBe(2);
    } finally {
      await Promise.all(procs.map((p) => p.stop()));
    }
  }, 60_000);
});

describe('the lock', () => {
  it('a holder killed with SIGKILL mid-fetch holds the others back only until its lock expires', async () => {
    const prefix = `k-${randomUUID()}:`;
    const env = { REDIS_URL: shared, EMU_URL: emu.url, EMU_KEY: emu.apiKey, PREFIX: prefix, LOCK_TTL_MS: '1000' };
    const holder = await startInstance(env, 'store-child.ts');
    const acc = proAccount('killed');
    emu.inject({ endpoint: 'accounts.status', accountRefId: acc, kind: 'latency', ms: 30_000, times: 1 });
    const pending = tierOf(holder, acc).catch(() => undefined);
    const lock = `${prefix}{${acc}}:lock:\u0000s\u0000`;
    await vi.waitFor(async () => expect(await admin.exists(lock)).toBe(1), { timeout: 5_000 });

    const { gate } = await fleetGate({ prefix, lockTtlMs: 1_000 });
    const t0 = performance.now();
    const asked = gate.checkTier(acc, { tiers: PRO });
    holder.proc.kill('SIGKILL');
    await pending;
    const d = await asked;
    const waited = performance.now() - t0;
    expect(d.allowed).toBe(true);
    expect(gate.stats()).toMatchObject({ storeLockWaits: 1, storeMisses: 1, storeErrors: 0 });
    // It waited for the lock (1 s from the holder's start), not for the holder's 30 s call; generous bounds.
    expect(waited).toBeGreaterThan(200);
    expect(waited).toBeLessThan(5_000);
    expect(statusCalls(acc)).toBe(2);
  }, 60_000);
});

describe('invalidation', () => {
  it('a fetch in flight when the account is invalidated does not write its stale answer back', async () => {
    const prefix = `r-${randomUUID()}:`;
    const [a, b] = await fleet(2, { prefix });
    const acc = proAccount('race');
    emu.inject({ endpoint: 'accounts.status', accountRefId: acc, kind: 'latency', ms: 300, times: 1 });
    const inFlight = a?.gate.checkTier(acc, { tiers: PRO });
    const lock = `${prefix}{${acc}}:lock:\u0000s\u0000`;
    await vi.waitFor(async () => expect(await admin.exists(lock)).toBe(1), { timeout: 5_000 });
    // `b` invalidates (a webhook) while `a` is asking: what `a` gets back predates the invalidation.
    b?.gate.invalidate(acc);
    await vi.waitFor(async () => expect(await admin.get(`${prefix}{${acc}}:gen`)).toBe('1'));
    expect((await inFlight)?.allowed).toBe(true);
    await vi.waitFor(async () => expect(await admin.exists(lock)).toBe(0));
    expect(await admin.hlen(`${prefix}{${acc}}`)).toBe(0);
    // (The emulator reads its state after the held latency, so the change it was told of comes now.)
    emu.setSubscription(acc, 'studio-suite', PRO, 'canceled');
    // So the fleet asks ecom9 again and sees the cancellation.
    const { gate: c } = await fleetGate({ prefix });
    expect((await c.checkTier(acc, { tiers: PRO })).allowed).toBe(false);
    expect(statusCalls(acc)).toBe(2);
  });

  it('one delete drops every fact about the account, in Redis and in the instance that invalidates', async () => {
    const prefix = `d-${randomUUID()}:`;
    const [a] = await fleet(1, { prefix });
    const acc = proAccount('drop');
    await a?.gate.checkTier(acc, { tiers: PRO });
    await a?.gate.checkEntitlement(acc, { product: 'studio-suite', entitlement: 'api_access' });
    await vi.waitFor(async () => expect(await admin.hlen(`${prefix}{${acc}}`)).toBe(2));
    a?.gate.invalidate(acc);
    await vi.waitFor(async () => expect(await admin.exists(`${prefix}{${acc}}`)).toBe(0));
    const calls = statusCalls(acc);
    await a?.gate.checkTier(acc, { tiers: PRO });
    expect(statusCalls(acc)).toBe(calls + 1);
  });
});

describe('expiry', () => {
  it('facts expire with the allow and deny TTLs, for the fleet and each instance', async () => {
    const clock = manualClock();
    const prefix = `e-${randomUUID()}:`;
    const [a, b] = await fleet(2, { prefix }, { now: clock.now, cache: { ttlMs: 60_000, denyTtlMs: 10_000 } });
    const acc = proAccount('expiry');
    const nobody = `nobody-${randomUUID()}`;
    for (const g of [a, b]) {
      expect((await g?.gate.checkTier(acc, { tiers: PRO }))?.allowed).toBe(true);
      expect((await g?.gate.checkTier(nobody, { tiers: PRO }))?.allowed).toBe(false);
    }
    expect([statusCalls(acc), statusCalls(nobody)]).toEqual([1, 1]);

    clock.advance(10_001); // the denial is gone everywhere, the grant is not
    for (const g of [a, b]) {
      await g?.gate.checkTier(acc, { tiers: PRO });
      await g?.gate.checkTier(nobody, { tiers: PRO });
    }
    expect([statusCalls(acc), statusCalls(nobody)]).toEqual([1, 2]);

    clock.advance(50_000);
    for (const g of [a, b]) expect((await g?.gate.checkTier(acc, { tiers: PRO }))?.allowed).toBe(true);
    expect(statusCalls(acc)).toBe(2);
  });

  it('a denial derived from a fact that allows (active on another tier) expires at the deny TTL in Redis too', async () => {
    const clock = manualClock();
    const prefix = `s-${randomUUID()}:`;
    const [a, b] = await fleet(2, { prefix }, { now: clock.now, cache: { ttlMs: 60_000, denyTtlMs: 10_000 } });
    const acc = `starter-${randomUUID()}`;
    emu.setAccount(acc, { customerEmail: 's@example.com', subscriptions: [{ subscription: 'studio-suite', tier: 'starter' }] });
    expect((await a?.gate.checkTier(acc, { tiers: PRO }))?.allowed).toBe(false);
    const field = '\u0000s\u0000';
    await vi.waitFor(async () => expect(await admin.hget(`${prefix}{${acc}}`, field)).toMatch(new RegExp(`^${clock.now() + 10_000}\\|${clock.now()}\\|1\\|`)));
    clock.advance(10_001);
    expect((await b?.gate.checkTier(acc, { tiers: PRO }))?.allowed).toBe(false);
    expect(statusCalls(acc)).toBe(2);
  });
});

describe('Redis trouble', () => {
  it('Redis restarted: checks are answered throughout, and the store is used again once it is back', async () => {
    const redis = await privateRedis();
    const store = redisStore({ url: redis.url, prefix: 'restart:', redisOptions: { retryStrategy: () => 50 } });
    const gate = gateFor(emu, { store, onError: () => {} });
    open.push(gate);
    try {
      await vi.waitFor(() => expect(store.connected).toBe(true));
      const warm = proAccount('restart-warm');
      expect((await gate.checkTier(warm, { tiers: PRO })).allowed).toBe(true);

      await redis.stop();
      await vi.waitFor(() => expect(store.connected).toBe(false));
      const during = proAccount('restart-during');
      expect((await gate.checkTier(during, { tiers: PRO })).allowed).toBe(true);
      expect((await gate.checkTier(warm, { tiers: PRO })).source).toBe('cache');
      expect(gate.stats().storeBypassed).toBeGreaterThan(0);

      await redis.start();
      await vi.waitFor(() => expect(store.connected).toBe(true), { timeout: 10_000 });
      const after = proAccount('restart-after');
      const misses = gate.stats().storeMisses;
      expect((await gate.checkTier(after, { tiers: PRO })).allowed).toBe(true);
      expect(gate.stats().storeMisses).toBe(misses + 1);
      const check = new Redis(redis.url);
      await vi.waitFor(async () => expect(await check.hlen(`restart:{${after}}`)).toBe(1));
      check.disconnect();
    } finally {
      await gate.close();
      await redis.stop();
    }
  }, 30_000);

  it('Redis paused (SIGSTOP): checks are answered with a bounded delay, and Redis is used again after SIGCONT', async () => {
    const redis = await privateRedis();
    const store = redisStore({ url: redis.url, prefix: 'paused:', timeoutMs: 50, retryAfterMs: 200, lockTtlMs: 10_000 });
    const errors: unknown[] = [];
    const gate = gateFor(emu, { store, onError: (e) => errors.push(e) });
    open.push(gate);
    try {
      await vi.waitFor(() => expect(store.connected).toBe(true));
      const baseline = proAccount('paused-baseline');
      await gate.checkTier(baseline, { tiers: PRO });
      redis.pause();
      const took: number[] = [];
      const askedWhilePaused: string[] = [];
      for (let i = 0; i < 5; i++) {
        const acc = proAccount('paused');
        askedWhilePaused.push(acc);
        const t0 = performance.now();
        expect((await gate.checkTier(acc, { tiers: PRO })).allowed).toBe(true);
        took.push(performance.now() - t0);
      }
      // 50 ms for the command that timed out, then none: a generous bound for a loaded machine.
      expect(Math.max(...took)).toBeLessThan(1_000);
      expect(gate.stats().storeErrors).toBeGreaterThanOrEqual(1);
      expect(gate.stats().storeBypassed).toBeGreaterThanOrEqual(1);
      expect(errors).toHaveLength(1);
      expect(String((errors[0] as Error).message)).toMatch(/Redis store unavailable/);

      redis.resume();
      // The reads given up on run once Redis resumes; a lock one took is released then, not left for 10 s.
      const direct = new Redis(redis.url);
      await vi.waitFor(async () => expect(await direct.exists(`paused:{${askedWhilePaused[0]}}:lock:\u0000s\u0000`)).toBe(0), { timeout: 5_000 });
      expect(await direct.keys('paused:*:lock:*')).toEqual([]);
      direct.disconnect();
      await new Promise((r) => setTimeout(r, 300));
      const after = proAccount('resumed');
      await vi.waitFor(async () => {
        gate.invalidate(after);
        await gate.checkTier(after, { tiers: PRO });
        expect(gate.stats().storeMisses).toBeGreaterThanOrEqual(2);
      });
    } finally {
      redis.resume();
      await gate.close();
      await redis.stop();
    }
  }, 30_000);

  it('a webhook the store cannot apply (Redis paused) is answered 503 and not remembered, so ecom9 retries it', async () => {
    const redis = await privateRedis();
    const store = redisStore({ url: redis.url, prefix: 'hook:', timeoutMs: 50, retryAfterMs: 200 });
    const gate = gateFor(emu, { store, onError: () => {} });
    open.push(gate);
    try {
      await vi.waitFor(() => expect(store.connected).toBe(true));
      const acc = proAccount('hook');
      await gate.checkTier(acc, { tiers: PRO }); // the fleet's copy, in Redis
      const direct = new Redis(redis.url);
      expect(await direct.exists(`hook:{${acc}}`)).toBe(1);
      const delivery = emu.buildWebhook({ event: 'subscription-cancelled', account_ref_id: acc });
      redis.pause();
      const during = await gate.handleWebhook({ rawBody: delivery.body, headers: delivery.headers });
      expect(during.status).toBe(503);
      redis.resume();
      // ecom9's retry of the same delivery is processed (not a duplicate), and drops the fleet's copy.
      await vi.waitFor(async () => expect((await gate.handleWebhook({ rawBody: delivery.body, headers: delivery.headers })).body).toEqual({ received: true }), {
        timeout: 5_000,
      });
      expect(await direct.exists(`hook:{${acc}}`)).toBe(0);
      direct.disconnect();
    } finally {
      redis.resume();
      await gate.close();
      await redis.stop();
    }
  }, 30_000);

  it('Redis out of memory (maxmemory + noeviction): writes fail, checks are still answered', async () => {
    const redis = await privateRedis({ args: ['--maxmemory-policy', 'noeviction'] });
    const direct = new Redis(redis.url);
    const store = redisStore({ url: redis.url, prefix: 'oom:', retryAfterMs: 50 });
    const gate = gateFor(emu, { store, onError: () => {} });
    open.push(gate);
    try {
      await vi.waitFor(() => expect(store.connected).toBe(true));
      const before = proAccount('oom-before');
      expect((await gate.checkTier(before, { tiers: PRO })).allowed).toBe(true);
      await vi.waitFor(async () => expect(await direct.hlen(`oom:{${before}}`)).toBe(1));
      await direct.config('SET', 'maxmemory', '1mb');
      await expect(direct.set('filler', 'x'.repeat(1024))).rejects.toThrow(/OOM/);

      for (let i = 0; i < 5; i++) {
        const acc = proAccount('oom');
        const refused = () => gate.stats().storeErrors + gate.stats().storeBypassed;
        const refusedBefore = refused();
        expect((await gate.checkTier(acc, { tiers: PRO })).allowed).toBe(true);
        // The write was tried and refused, or skipped while the store is failing (counted either
        // way); then nothing is there. A positive signal, not a wait for silence.
        await vi.waitFor(() => expect(refused()).toBeGreaterThan(refusedBefore));
        expect(await direct.exists(`oom:{${acc}}`)).toBe(0);
      }
      expect(gate.stats().storeErrors).toBeGreaterThan(0);
      // An invalidation still deletes (DEL is allowed out of memory).
      gate.invalidate(before);
      await vi.waitFor(async () => expect(await direct.exists(`oom:{${before}}`)).toBe(0));
    } finally {
      direct.disconnect();
      await gate.close();
      await redis.stop();
    }
  }, 30_000);
});

describe('redisStore options', () => {
  it('a bad option throws a TypeError naming it, never its value; one store serves one gate', async () => {
    const url = 'redis://:hunter2@127.0.0.1:1';
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ url, timeoutMs: 0 }, /"timeoutMs" must be a positive integer/],
      [{ url, lockTtlMs: 1.5 }, /"lockTtlMs" must be a positive integer/],
      [{ url, prefix: '' }, /"prefix" must be a non-empty string/],
      [{ url: 'http://:hunter2@127.0.0.1:1' }, /"url" must be a redis/],
      [{ url, prefx: 'x' }, /unknown option "prefx"/],
      [{}, /exactly one of "url" or "client"/],
    ];
    for (const [options, message] of cases) {
      let thrown: unknown;
      try {
        redisStore(options as never);
      } catch (e) {
        thrown = e;
      }
      expect(thrown).toBeInstanceOf(TypeError);
      expect((thrown as Error).message).toMatch(message);
      expect((thrown as Error).message).not.toContain('hunter2');
    }
    const store = redisStore({ url: 'redis://127.0.0.1:1', redisOptions: { retryStrategy: () => 1_000 } });
    const gate = gateFor(emu, { store });
    open.push(gate);
    expect(() => gateFor(emu, { store })).toThrow(/already serves a gate/);
    expect(() => gateFor(emu, { store: 'x' as never })).toThrow(/"store" expected a fact store/);
  });
});
