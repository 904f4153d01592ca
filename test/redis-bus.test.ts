// Many instances sharing invalidations over real Redis, each gate in its own process: a webhook to one
// reaches all within 100 ms, whether the bus was built from a URL or from the app's own client; replays
// are duplicates on every instance; Redis down at start-up, stopped mid-way or not answering crashes
// nothing and holds no webhook, invalidations resume after it, and nothing cached meanwhile survives.
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Emulator } from 'ecom9-gate/emulator';
import { createGate, type BusSubscriber } from 'ecom9-gate';
import { redisBus } from 'ecom9-gate/redis';
import { startEmulator } from './support/env';
import { startInstance, type Instance } from './support/processes';
import { ensureRedis, laggingProxy, privateRedis } from './support/redis';

let emu: Emulator;
beforeAll(async () => {
  emu = await startEmulator();
});
afterAll(async () => {
  await emu.close();
});

const tier = (i: Instance, account: string) => fetch(`${i.url}/tier`, { headers: { 'x-account': account } }).then((r) => r.status);
const busErrors = async (i: Instance) => ((await (await fetch(`${i.url}/stats`)).json()) as { busErrors: number }).busErrors;
const errorLines = (i: Instance) => i.lines.filter((l) => typeof l.error === 'string');
const proAccount = (prefix: string) => {
  const acc = `${prefix}-${randomUUID()}`;
  emu.setAccount(acc, { customerEmail: 'x@example.com', subscriptions: [{ subscription: 'studio-suite', tier: 'pro' }] });
  return acc;
};
const now = () => performance.timeOrigin + performance.now();

const childEnv = (redisUrl: string, channel: string, mode: 'url' | 'client' = 'url') => ({
  REDIS_URL: redisUrl,
  CHANNEL: channel,
  BUS_MODE: mode,
  EMU_URL: emu.url,
  EMU_KEY: emu.apiKey,
  WEBHOOK_SECRET: emu.webhookSecret,
});

/** Instances with their bus up, each warmed by one webhook: the 100 ms is about the fan-out, not the first call's compilation. */
async function instances(redisUrl: string, channel: string, modes: Array<'url' | 'client'>): Promise<Instance[]> {
  const all = await Promise.all(modes.map((mode) => startInstance(childEnv(redisUrl, channel, mode))));
  await Promise.all(all.map((i) => i.waitFor((l) => l.bus === 'up', 10_000, true)));
  for (const i of all) await warm(i);
  return all;
}

async function warm(i: Instance): Promise<void> {
  const r = await emu.sendWebhook(`${i.url}/webhooks/ecom9`, { event: 'payment-succeeded', account_ref_id: `warm-${randomUUID()}` });
  expect(r.status).toBe(200);
}

/** Sends a cancellation webhook to `to` and returns how long each of `others` took to apply it, in ms. */
async function fanOut(to: Instance, others: Instance[], acc: string): Promise<number[]> {
  emu.setSubscription(acc, 'studio-suite', 'pro', 'canceled');
  const seen = others.map((i) => i.waitFor((l) => l.invalidated === acc, 5_000));
  const sentAt = now();
  const r = await emu.sendWebhook(`${to.url}/webhooks/ecom9`, { event: 'subscription-cancelled', account_ref_id: acc });
  expect(r.status).toBe(200);
  return (await Promise.all(seen)).map((l) => (l.at as number) - sentAt);
}

describe('Redis bus across processes', () => {
  let group: Instance[] = [];
  beforeAll(async () => {
    // The third instance builds its bus from the app's own ioredis client.
    group = await instances(await ensureRedis(), `ecom9-test-${randomUUID()}`, ['url', 'url', 'client']);
  }, 60_000);
  afterAll(async () => {
    await Promise.all(group.map((i) => i.stop()));
  });

  it('a webhook to one instance invalidates every instance within 100 ms', async () => {
    const acc = proAccount('fan');
    for (const i of group) expect(await tier(i, acc)).toBe(200);
    expect(Math.max(...(await fanOut(group[0] as Instance, group, acc)))).toBeLessThan(100);
    for (const i of group) expect(await tier(i, acc)).toBe(403);
  });

  it('a bus built with { client } subscribes (it used to never receive), publishes, and reports no trouble', async () => {
    const [a, b, c] = group as [Instance, Instance, Instance];
    const toClient = proAccount('to-client');
    expect(await tier(c, toClient)).toBe(200);
    expect(Math.max(...(await fanOut(a, [c], toClient)))).toBeLessThan(100);
    expect(await tier(c, toClient)).toBe(403);
    const fromClient = proAccount('from-client');
    for (const i of [a, b]) expect(await tier(i, fromClient)).toBe(200);
    expect(Math.max(...(await fanOut(c, [a, b], fromClient)))).toBeLessThan(100);
    for (const i of [a, b]) expect(await tier(i, fromClient)).toBe(403);
    expect(errorLines(c)).toEqual([]);
    expect(await busErrors(c)).toBe(0);
  });

  it('a delivery retried to another instance is still a duplicate', async () => {
    const acc = `dup-${randomUUID()}`;
    emu.setAccount(acc, { customerEmail: 'd@example.com' });
    const tx = randomUUID();
    const first = await emu.sendWebhook(`${group[0]?.url}/webhooks/ecom9`, { event: 'payment-succeeded', account_ref_id: acc, transaction_id: tx });
    const again = await emu.sendWebhook(`${group[2]?.url}/webhooks/ecom9`, { event: 'payment-succeeded', account_ref_id: acc, transaction_id: tx });
    expect(JSON.parse(first.body)).toEqual({ received: true });
    expect(JSON.parse(again.body)).toEqual({ received: true, duplicate: true });
  });
});

describe('Redis outage', () => {
  it('keeps serving, resumes invalidations, and lets nothing stale survive', async () => {
    const redis = await privateRedis();
    const group = await instances(redis.url, 'ecom9-outage', ['url', 'url']);
    const [a, b] = group as [Instance, Instance];
    try {
      const acc = proAccount('outage');
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
      expect(await busErrors(a)).toBeGreaterThan(0);

      await redis.start();
      await Promise.all(group.map((i) => i.waitFor((l) => l.bus === 'up', 10_000, true)));
      // What `b` cached while the bus was down is gone: it asks ecom9 again and sees the cancellation.
      expect(await tier(b, acc)).toBe(403);
      // One report per outage on each; `b` (which sent nothing meanwhile) counted its lost connection once.
      for (const i of group) expect(errorLines(i)).toHaveLength(1);
      expect(await busErrors(b)).toBe(1);
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

  it('instances started while Redis is down answer webhooks at once, then subscribe once it is up and drop what they cached meanwhile', async () => {
    const redis = await privateRedis({ started: false });
    const channel = `ecom9-late-${randomUUID()}`;
    // `c` builds its bus from the app's own client, with ioredis defaults (that used to hold a webhook 10 s).
    const [a, c] = (await Promise.all([startInstance(childEnv(redis.url, channel)), startInstance(childEnv(redis.url, channel, 'client'))])) as [
      Instance,
      Instance,
    ];
    try {
      const cached = proAccount('cached-while-down');
      for (const i of [a, c]) expect(await tier(i, cached)).toBe(200);
      // Down at start-up is one outage, counted once however many times the connection is retried.
      for (const i of [a, c]) await vi.waitFor(async () => expect(await busErrors(i)).toBe(1));

      // Redis down: each webhook is answered promptly and the dedupe falls back to the instance's own guard.
      for (const i of [a, c]) {
        const acc = proAccount('hook-while-down');
        expect(await tier(i, acc)).toBe(200);
        emu.setSubscription(acc, 'studio-suite', 'pro', 'canceled');
        const payload = { event: 'subscription-cancelled', account_ref_id: acc, transaction_id: randomUUID() } as const;
        const t0 = performance.now();
        const first = await emu.sendWebhook(`${i.url}/webhooks/ecom9`, payload);
        const again = await emu.sendWebhook(`${i.url}/webhooks/ecom9`, payload);
        // A bound for a loaded 2-core machine, measured, not waited for.
        expect(performance.now() - t0).toBeLessThan(2_000);
        expect(JSON.parse(first.body)).toEqual({ received: true });
        expect(JSON.parse(again.body)).toEqual({ received: true, duplicate: true });
        expect(await tier(i, acc)).toBe(403);
      }
      for (const i of [a, c]) expect(i.lines.some((l) => l.bus === 'up')).toBe(false);
      const counted = await Promise.all([a, c].map(busErrors));

      await redis.start();
      await Promise.all([a, c].map((i) => i.waitFor((l) => l.bus === 'up', 10_000, true)));
      // No webhook for this change: only the clear on the first live subscription can drop it.
      emu.setSubscription(cached, 'studio-suite', 'pro', 'canceled');
      for (const i of [a, c]) expect(await tier(i, cached)).toBe(403);

      // Invalidations now flow both ways.
      for (const [from, to] of [
        [a, c],
        [c, a],
      ] as const) {
        const acc = proAccount('after-late-start');
        expect(await tier(to, acc)).toBe(200);
        expect(Math.max(...(await fanOut(from, [to], acc)))).toBeLessThan(100);
        expect(await tier(to, acc)).toBe(403);
      }
      // Reported once each; the retries until Redis came up added nothing to what the webhooks counted.
      for (const i of [a, c]) expect(errorLines(i)).toHaveLength(1);
      expect(await Promise.all([a, c].map(busErrors))).toEqual(counted);
    } finally {
      await Promise.all([a.stop(), c.stop()]);
      await redis.stop();
    }
  }, 60_000);

  // The wait is the bus's command timeout (1 s): at least that (Redis never answered), and not much
  // more (2.5 s leaves room for a loaded machine's scheduling, not for a second timeout or a retry).
  it('a Redis that stops answering holds a webhook for the command timeout (1 s), not for a second one', async () => {
    const redis = await privateRedis();
    const [a] = (await instances(redis.url, 'ecom9-paused', ['url'])) as [Instance];
    try {
      const acc = proAccount('paused');
      redis.pause();
      const t0 = performance.now();
      const hook = await emu.sendWebhook(`${a.url}/webhooks/ecom9`, { event: 'subscription-cancelled', account_ref_id: acc });
      const held = performance.now() - t0;
      expect(held).toBeGreaterThanOrEqual(950);
      expect(held).toBeLessThan(2_500);
      expect(JSON.parse(hook.body)).toEqual({ received: true });
    } finally {
      redis.resume();
      await a.stop();
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
    await vi.waitFor(() => expect(gate.stats().busErrors).toBeGreaterThan(0));
    expect(errors.length).toBe(1);
    expect(String((errors[0] as Error).message)).not.toContain(emu.apiKey);
    await gate.close();
    expect(Date.now() - t0).toBeLessThan(3_000);
  });

  it('clears the cache only once the re-subscription is confirmed, so no invalidation falls in between', async () => {
    // Through a lagging link the SUBSCRIBE written at 'ready' reaches Redis 100 ms later; clearing at
    // 'ready' (as it used to) left that window open: an invalidation published in it was lost.
    const redis = await privateRedis();
    const link = await laggingProxy(redis.url, 100);
    const bus = redisBus({ url: link.url, channel: 'race', redisOptions: { retryStrategy: () => 20 } });
    const admin = new Redis(redis.url);
    const got: string[] = [];
    const publishedAtClear: Array<Promise<number>> = [];
    const subscriber: BusSubscriber = {
      invalidate: (ref) => got.push(ref),
      // The moment the cache is cleared, another instance publishes: this instance must receive it.
      clear: () => void publishedAtClear.push(admin.publish('race', JSON.stringify({ ref: `after-clear-${publishedAtClear.length}`, origin: 'other' }))),
      report: () => {},
      stats: { inc: () => {} },
    };
    bus.subscribe(subscriber);
    try {
      await vi.waitFor(() => expect(bus.connected).toBe(true), { timeout: 5_000 });
      await vi.waitFor(async () => expect(await admin.pubsub('NUMSUB', 'race')).toEqual(['race', 1]));
      expect(publishedAtClear).toHaveLength(0);
      await admin.client('KILL', 'TYPE', 'pubsub');
      await vi.waitFor(() => expect(publishedAtClear).toHaveLength(1), { timeout: 5_000 });
      expect(bus.connected).toBe(true);
      expect(await publishedAtClear[0]).toBe(1);
      await vi.waitFor(() => expect(got).toEqual(['after-clear-0']));
    } finally {
      await bus.close();
      admin.disconnect();
      await link.close();
      await redis.stop();
    }
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
