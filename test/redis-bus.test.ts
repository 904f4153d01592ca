// Many instances sharing invalidations over real Redis, each gate in its own process: a webhook to one
// reaches all within 100 ms; replays are duplicates on every instance; a Redis outage crashes nothing,
// invalidations resume after it, and nothing cached during it survives.
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Emulator } from 'ecom9-gate/emulator';
import { createGate } from 'ecom9-gate';
import { redisBus } from 'ecom9-gate/redis';
import { startEmulator } from './support/env';
import { startInstance, type Instance } from './support/processes';
import { ensureRedis, privateRedis } from './support/redis';

let emu: Emulator;
beforeAll(async () => {
  emu = await startEmulator();
});
afterAll(async () => {
  await emu.close();
});

const tier = (i: Instance, account: string) => fetch(`${i.url}/tier`, { headers: { 'x-account': account } }).then((r) => r.status);

async function instances(n: number, redisUrl: string, channel: string): Promise<Instance[]> {
  const env = { REDIS_URL: redisUrl, CHANNEL: channel, EMU_URL: emu.url, EMU_KEY: emu.apiKey, WEBHOOK_SECRET: emu.webhookSecret };
  const all = await Promise.all(Array.from({ length: n }, () => startInstance(env)));
  await Promise.all(all.map((i) => i.waitFor((l) => l.bus === 'up', 10_000, true)));
  return all;
}

describe('Redis bus across processes', () => {
  let redisUrl: string;
  let group: Instance[] = [];
  beforeAll(async () => {
    redisUrl = await ensureRedis();
    group = await instances(3, redisUrl, `ecom9-test-${randomUUID()}`);
  }, 60_000);
  afterAll(async () => {
    await Promise.all(group.map((i) => i.stop()));
  });

  it('a webhook to one instance invalidates every instance within 100 ms', async () => {
    const acc = `fan-${randomUUID()}`;
    emu.setAccount(acc, { customerEmail: 'f@example.com', subscriptions: [{ subscription: 'studio-suite', tier: 'pro' }] });
    for (const i of group) expect(await tier(i, acc)).toBe(200);
    emu.setSubscription(acc, 'studio-suite', 'pro', 'canceled');
    const seen = group.map((i) => i.waitFor((l) => l.invalidated === acc, 5_000));
    const sentAt = performance.timeOrigin + performance.now();
    const r = await emu.sendWebhook(`${group[0]?.url}/webhooks/ecom9`, { event: 'subscription-cancelled', account_ref_id: acc });
    expect(r.status).toBe(200);
    const times = (await Promise.all(seen)).map((l) => (l.at as number) - sentAt);
    expect(Math.max(...times)).toBeLessThan(100);
    for (const i of group) expect(await tier(i, acc)).toBe(403);
  });

  it('a delivery retried to another instance is still a duplicate', async () => {
    const acc = `dup-${randomUUID()}`;
    emu.setAccount(acc, { customerEmail: 'd@example.com' });
    const tx = randomUUID();
    const first = await emu.sendWebhook(`${group[0]?.url}/webhooks/ecom9`, { event: 'payment-succeeded', account_ref_id: acc, transaction_id: tx });
    const again = await emu.sendWebhook(`${group[1]?.url}/webhooks/ecom9`, { event: 'payment-succeeded', account_ref_id: acc, transaction_id: tx });
    expect(JSON.parse(first.body)).toEqual({ received: true });
    expect(JSON.parse(again.body)).toEqual({ received: true, duplicate: true });
  });
});

describe('Redis outage', () => {
  it('keeps serving, resumes invalidations, and lets nothing stale survive', async () => {
    const redis = await privateRedis();
    const group = await instances(2, redis.url, 'ecom9-outage');
    const [a, b] = group as [Instance, Instance];
    try {
      const acc = `outage-${randomUUID()}`;
      emu.setAccount(acc, { customerEmail: 'o@example.com', subscriptions: [{ subscription: 'studio-suite', tier: 'pro' }] });
      expect([await tier(a, acc), await tier(b, acc)]).toEqual([200, 200]);

      for (const i of group) i.lines.length = 0;
      await redis.stop();
      await Promise.all(group.map((i) => i.waitFor((l) => l.bus === 'down', 5_000, true)));
      // During the outage: the webhook reaches only `a`; `b` keeps its cached answer (TTL only).
      emu.setSubscription(acc, 'studio-suite', 'pro', 'canceled');
      const hook = await emu.sendWebhook(`${a.url}/webhooks/ecom9`, { event: 'subscription-cancelled', account_ref_id: acc });
      expect(hook.status).toBe(200);
      expect(await tier(a, acc)).toBe(403);
      expect(await tier(b, acc)).toBe(200);
      const stats = (await (await fetch(`${a.url}/stats`)).json()) as { busErrors: number };
      expect(stats.busErrors).toBeGreaterThan(0);

      await redis.start();
      await Promise.all(group.map((i) => i.waitFor((l) => l.bus === 'up', 10_000, true)));
      // What `b` cached while the bus was down is gone: it asks ecom9 again and sees the cancellation.
      expect(await tier(b, acc)).toBe(403);
      // And invalidations flow again.
      emu.setSubscription(acc, 'studio-suite', 'pro', 'active');
      a.lines.length = 0;
      await fetch(`${b.url}/invalidate/${encodeURIComponent(acc)}`, { method: 'POST' });
      await a.waitFor((l) => l.invalidated === acc, 2_000, true);
      expect(await tier(a, acc)).toBe(200);
      for (const i of group) expect(i.proc.exitCode).toBeNull();
    } finally {
      await Promise.all(group.map((i) => i.stop()));
      await redis.stop();
    }
  }, 60_000);

  it('does not hang start-up when Redis is down, and works on TTLs alone', async () => {
    const errors: unknown[] = [];
    const t0 = Date.now();
    const gate = createGate({
      apiKey: emu.apiKey,
      baseUrl: emu.url,
      bus: redisBus({ url: 'redis://127.0.0.1:1', redisOptions: { retryStrategy: () => 1_000 } }),
      onError: (e) => errors.push(e),
    });
    emu.setAccount('no-redis', { customerEmail: 'n@example.com', subscriptions: [{ subscription: 'studio-suite', tier: 'pro' }] });
    expect((await gate.checkTier('no-redis', { tiers: 'pro' })).allowed).toBe(true);
    gate.invalidate('no-redis');
    await new Promise((r) => setTimeout(r, 50));
    expect(gate.stats().busErrors).toBeGreaterThan(0);
    expect(errors.length).toBe(1);
    expect(String((errors[0] as Error).message)).not.toContain(emu.apiKey);
    await gate.close();
    expect(Date.now() - t0).toBeLessThan(3_000);
  });
});

describe('redisBus options', () => {
  const thrown = (fn: () => unknown): Error => {
    try {
      fn();
    } catch (e) {
      return e as Error;
    }
    throw new Error('expected a throw');
  };
  const url = 'redis://:hunter2@127.0.0.1:1';

  it('a bad option throws a TypeError naming it, never its value', () => {
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ url, dedupeTtlMs: -5 }, /"dedupeTtlMs" must be a positive integer/],
      [{ url, dedupeTtlMs: 1.5 }, /"dedupeTtlMs" must be a positive integer/],
      [{ url, channel: '' }, /"channel" must be a non-empty string/],
      [{ url, keyPrefix: '' }, /"keyPrefix" must be a non-empty string/],
      [{ url: 42 }, /"url" must be a redis/],
      [{ url: 'http://:hunter2@127.0.0.1:1' }, /"url" must be a redis/],
      [{ client: {} }, /"client" expected an ioredis client/],
      [{ url, redisOptions: 'x' }, /"redisOptions"/],
      [{ url, chanel: 'x' }, /unknown option "chanel"/],
      [{}, /exactly one of "url" or "client"/],
      [{ url, client: new Redis({ lazyConnect: true }) }, /exactly one of "url" or "client"/],
    ];
    for (const [options, message] of cases) {
      const e = thrown(() => redisBus(options as never));
      expect(e).toBeInstanceOf(TypeError);
      expect(e.message).toMatch(message);
      expect(e.message).not.toContain('hunter2');
    }
  });

  it('one bus serves one gate: a second gate on it throws instead of silently taking its invalidations', async () => {
    const bus = redisBus({ url: 'redis://127.0.0.1:1', redisOptions: { retryStrategy: () => 1_000 } });
    const gate = createGate({ apiKey: emu.apiKey, baseUrl: emu.url, bus, onError: () => {} });
    try {
      expect(thrown(() => createGate({ apiKey: emu.apiKey, baseUrl: emu.url, bus })).message).toMatch(/already serves a gate/);
    } finally {
      await gate.close();
    }
  });
});
