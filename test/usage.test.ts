// Usage recording: enqueue-and-return, delivery with retries under the same key, flush/close,
// outages, the queue bound, and nothing given up on without a report and a count.
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Emulator } from 'ecom9-gate/emulator';
import { createClient, UpstreamUnreachableError, UsageDeliveryError } from 'ecom9-gate';
import { StatsRecorder } from '../src/shared/stats';
import { UsageRecorder, type UsageHooks, type UsageOptions } from '../src/usage/recorder';
import { startEmulator } from './support/env';
import { gateEnv } from './support/gate-env';

let emu: Emulator;
let reported: unknown[];

beforeAll(async () => {
  emu = await startEmulator();
});
afterAll(async () => {
  await emu.close();
});
beforeEach(() => {
  emu.clearFaults();
  reported = [];
  emu.setAccount('user', { customerEmail: 'u@example.com' });
  emu.resetCalls();
});

/** The recorder's waits, recorded and fired by hand: backoff is asserted without waiting for it. */
function manualTimers() {
  const all: Array<{ fn: () => void; ms: number; live: boolean }> = [];
  const schedule: NonNullable<UsageHooks['schedule']> = (fn, ms) => {
    const t = { fn, ms, live: true };
    all.push(t);
    return () => void (t.live = false);
  };
  return {
    schedule,
    asked: () => all.map((t) => t.ms),
    live: () => all.filter((t) => t.live),
    fireAll() {
      for (const t of all.filter((x) => x.live)) {
        t.live = false;
        t.fn();
      }
    },
  };
}

/** A recorder on its own (the gate builds it the same way), so a test can hand it a timer. */
function recorderFor(opts: Partial<UsageOptions>, hooks: UsageHooks = {}) {
  const client = createClient({ apiKey: emu.apiKey, baseUrl: emu.url, timeoutMs: 5_000, maxRetries: 0 });
  const stats = new StatsRecorder();
  const options: UsageOptions = { aggregateMs: 0, maxQueue: 100, concurrency: 4, maxAttempts: 8, retryBaseMs: 100, retryMaxMs: 1_000, ...opts };
  const rec = new UsageRecorder(client, options, stats, (e) => reported.push(e), hooks);
  const snapshot = () => stats.snapshot({ usagePending: rec.pending, cacheSize: 0 });
  return { rec, client, snapshot };
}

const event = (i: number) => ({
  accountRefId: 'user',
  product: 'api-access',
  meter: 'api_calls',
  quantity: 1,
  eventKey: `${Date.now()}-${Math.random()}-${i}`,
});

describe('recordUsage', () => {
  it('returns at once and delivers on flush', async () => {
    await using env = await gateEnv({ emu });
    const { gate } = env;
    const before = emu.usageTotal('user', 'api-access', 'api_calls');
    emu.inject({ endpoint: 'usage.record', kind: 'latency', ms: 50 });
    const r = gate.recordUsage({ accountRefId: 'user', product: 'api-access', meter: 'api_calls', quantity: 3 });
    expect(r.queued).toBe(true);
    expect(gate.stats().usagePending).toBe(1);
    await gate.flush();
    expect(emu.usageTotal('user', 'api-access', 'api_calls') - before).toBe(3);
    expect(gate.stats()).toMatchObject({ usageQueued: 1, usageSent: 1, usagePending: 0 });
  });

  it('delivers events queued during an outage once ecom9 is back, each counted once', async () => {
    await using env = await gateEnv({ emu });
    const { gate, reported } = env;
    const before = emu.usageTotal('user', 'api-access', 'api_calls');
    emu.inject({ endpoint: 'usage.record', kind: 'status', status: 503, times: 6 });
    emu.inject({ endpoint: 'usage.record', kind: 'drop', dropAfterProcessing: true, times: 2 });
    for (let i = 0; i < 10; i++) gate.recordUsage(event(i));
    await gate.flush();
    expect(emu.usageTotal('user', 'api-access', 'api_calls') - before).toBe(10);
    const s = gate.stats();
    expect(s.usageSent).toBe(10);
    expect(s.usageRetried).toBeGreaterThanOrEqual(8);
    expect(s.usageFailed).toBe(0);
    // The outage itself is reported once, when it starts; no event is.
    expect(reported.map((e) => (e as Error).constructor)).toEqual([UpstreamUnreachableError]);
  });

  it('gives up after maxAttempts, and reports and counts the event', async () => {
    await using env = await gateEnv({ emu, gate: { usage: { maxAttempts: 3 } } });
    const { gate, reported } = env;
    emu.inject({ endpoint: 'usage.record', kind: 'status', status: 500 });
    gate.recordUsage(event(1));
    await gate.flush();
    expect(gate.stats()).toMatchObject({ usageFailed: 1, usageRetried: 2, usagePending: 0 });
    expect(reported.map((e) => (e as Error).constructor)).toEqual([UpstreamUnreachableError, UsageDeliveryError]);
    expect(emu.callCount('usage.record')).toBe(3);
  });

  it('reports a product that is not postpaid instead of retrying it', async () => {
    await using env = await gateEnv({ emu });
    const { gate, reported } = env;
    gate.recordUsage({ accountRefId: 'user', product: 'ai-images', meter: 'credits' });
    await gate.flush();
    expect(gate.stats()).toMatchObject({ usageFailed: 1, usageRetried: 0 });
    expect(String((reported[0] as Error).message)).toMatch(/invalid_usage_model/);
  });

  it('drops past maxQueue, and reports and counts it', async () => {
    await using env = await gateEnv({ emu, gate: { usage: { maxQueue: 2, concurrency: 1 } } });
    const { gate, reported } = env;
    emu.inject({ endpoint: 'usage.record', kind: 'latency', ms: 30 });
    const results = [0, 1, 2].map((i) => gate.recordUsage(event(i)).queued);
    expect(results).toEqual([true, true, false]);
    expect(gate.stats().usageDropped).toBe(1);
    expect(reported).toHaveLength(1);
    await gate.close();
    expect(gate.stats().usageSent).toBe(2);
  });

  it('refuses a bad event with an error naming the field', async () => {
    await using env = await gateEnv({ emu });
    const { gate } = env;
    expect(() => gate.recordUsage({ accountRefId: 'user', product: 'api-access', meter: 'api_calls', quantity: -1 })).toThrow(/quantity/);
  });
});

describe('lifecycle', () => {
  it('closes once, however often close() is called, and refuses events after it', async () => {
    await using env = await gateEnv({ emu });
    const { gate } = env;
    gate.recordUsage(event(1));
    await Promise.all([gate.close(), gate.close()]);
    await gate.close();
    expect(gate.stats().usageSent).toBe(1);
    expect(gate.recordUsage(event(2)).queued).toBe(false);
    expect(gate.stats().usageDropped).toBe(1);
  });

  it('refuses an account ref that could never be delivered', async () => {
    await using env = await gateEnv({ emu });
    const { gate } = env;
    expect(() => gate.recordUsage({ accountRefId: '..', product: 'api-access', meter: 'api_calls' })).toThrow(/accountRefId/);
  });
});

describe('aggregation', () => {
  it('sums unkeyed events per account, product and meter into one call per window', async () => {
    await using env = await gateEnv({ emu });
    const { gate } = env;
    emu.setAccount('agg-a', { customerEmail: 'a@example.com' });
    emu.setAccount('agg-b', { customerEmail: 'b@example.com' });
    for (let i = 0; i < 100; i++) gate.recordUsage({ accountRefId: i % 2 ? 'agg-a' : 'agg-b', product: 'api-access', meter: 'api_calls', quantity: 2 });
    expect(gate.stats().usagePending).toBe(100);
    await gate.flush();
    expect(emu.callCount('usage.record')).toBe(2);
    expect(emu.usageTotal('agg-a', 'api-access', 'api_calls')).toBe(100);
    expect(emu.usageTotal('agg-b', 'api-access', 'api_calls')).toBe(100);
    expect(gate.stats()).toMatchObject({ usageQueued: 100, usageSent: 100, usagePending: 0 });
  });

  it('sends keyed events and events with metadata on their own', async () => {
    await using env = await gateEnv({ emu });
    const { gate } = env;
    gate.recordUsage({ ...event(1) });
    gate.recordUsage({ ...event(2) });
    gate.recordUsage({ accountRefId: 'user', product: 'api-access', meter: 'api_calls', metadata: { path: '/x' } });
    gate.recordUsage({ accountRefId: 'user', product: 'api-access', meter: 'api_calls', metadata: { path: '/y' } });
    await gate.flush();
    expect(emu.callCount('usage.record')).toBe(4);
  });

  it('seals the window on its own after aggregateMs', async () => {
    await using env = await gateEnv({ emu, gate: { usage: { aggregateMs: 20 } } });
    const { gate } = env;
    const before = emu.usageTotal('user', 'api-access', 'api_calls');
    gate.recordUsage({ accountRefId: 'user', product: 'api-access', meter: 'api_calls' });
    await vi.waitFor(() => expect(emu.usageTotal('user', 'api-access', 'api_calls') - before).toBe(1), { timeout: 2_000, interval: 10 });
  });

  it('with aggregateMs 0, sends every event on its own', async () => {
    await using env = await gateEnv({ emu, gate: { usage: { aggregateMs: 0 } } });
    const { gate } = env;
    for (let i = 0; i < 5; i++) gate.recordUsage({ accountRefId: 'user', product: 'api-access', meter: 'api_calls' });
    await gate.flush();
    expect(emu.callCount('usage.record')).toBe(5);
  });
});

describe('backoff', () => {
  it('backs off exponentially with jitter between attempts, bounded by retryMaxMs', async () => {
    const timers = manualTimers();
    const { rec, client, snapshot } = recorderFor({ maxAttempts: 6, retryBaseMs: 100, retryMaxMs: 1_000 }, timers);
    emu.inject({ endpoint: 'usage.record', kind: 'status', status: 503 });
    rec.record(event(1));
    const flushed = rec.flush();
    for (let attempt = 1; attempt < 6; attempt++) {
      await vi.waitFor(() => expect(timers.live()).toHaveLength(1));
      // Nothing is sent again before its timer fires.
      expect(emu.callCount('usage.record')).toBe(attempt);
      timers.fireAll();
    }
    await flushed;
    expect(emu.callCount('usage.record')).toBe(6);
    expect(snapshot()).toMatchObject({ usageRetried: 5, usageFailed: 1 });
    // Each wait is in [cap/2, cap], the cap doubling from retryBaseMs up to retryMaxMs.
    const caps = [100, 200, 400, 800, 1_000];
    expect(timers.asked()).toHaveLength(5);
    timers.asked().forEach((ms, i) => {
      expect(ms).toBeGreaterThanOrEqual((caps[i] as number) / 2);
      expect(ms).toBeLessThanOrEqual(caps[i] as number);
    });
    await rec.close(1_000);
    await client.close();
  });

  it('spreads retries with jitter instead of sending them all at the same moment', async () => {
    const timers = manualTimers();
    const { rec, client } = recorderFor({ concurrency: 10, retryBaseMs: 1_000, retryMaxMs: 1_000 }, timers);
    emu.inject({ endpoint: 'usage.record', kind: 'status', status: 503, times: 10 });
    for (let i = 0; i < 10; i++) rec.record(event(i));
    await vi.waitFor(() => expect(timers.live()).toHaveLength(10));
    expect(new Set(timers.asked()).size).toBeGreaterThan(1);
    timers.fireAll();
    await rec.flush();
    await rec.close(1_000);
    await client.close();
  });

  it('waits at least as long as a 429 asks, and starts no other send meanwhile', async () => {
    const timers = manualTimers();
    const { rec, client, snapshot } = recorderFor({ concurrency: 1, maxAttempts: 2, retryBaseMs: 100, retryMaxMs: 1_000 }, timers);
    emu.inject({ endpoint: 'usage.record', kind: 'rate_limit', retryAfter: 30, times: 1 });
    const before = emu.usageTotal('user', 'api-access', 'api_calls');
    rec.record(event(1));
    rec.record(event(2));
    const flushed = rec.flush();
    // The recorder-wide pause and the event's own retry, both as long as Retry-After.
    await vi.waitFor(() => expect(timers.live()).toHaveLength(2));
    expect(timers.asked()).toEqual([30_000, 30_000]);
    expect(emu.callCount('usage.record')).toBe(1);
    timers.fireAll();
    await flushed;
    expect(emu.usageTotal('user', 'api-access', 'api_calls') - before).toBe(2);
    expect(snapshot()).toMatchObject({ usageSent: 2, usageFailed: 0, usageRetried: 1 });
    await rec.close(1_000);
    await client.close();
  });

  it('takes a Retry-After past ten minutes as ten minutes', async () => {
    const timers = manualTimers();
    const { rec, client } = recorderFor({}, timers);
    emu.inject({ endpoint: 'usage.record', kind: 'rate_limit', retryAfter: 86_400, times: 1 });
    rec.record(event(1));
    await vi.waitFor(() => expect(timers.live()).toHaveLength(2));
    expect(timers.asked()).toEqual([600_000, 600_000]);
    timers.fireAll();
    await rec.flush();
    await rec.close(1_000);
    await client.close();
  });
});

describe('what is counted', () => {
  it('refuses metadata JSON cannot hold with a TypeError, and leaves the queue and its counters untouched', async () => {
    await using env = await gateEnv({ emu, gate: { usage: { maxQueue: 1 } } });
    const { gate, reported } = env;
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    for (let i = 0; i < 3; i++) {
      expect(() => gate.recordUsage({ ...event(i), metadata: circular })).toThrow(/metadata is not JSON-serialisable \(Converting circular/);
    }
    expect(() => gate.recordUsage({ ...event(3), metadata: { n: 1n } })).toThrow(TypeError);
    expect(() => gate.recordMetered('user', 'api-access', 'api_calls', 1, undefined, { n: 1n })).toThrow(/meterUsage: metadata is not JSON-serialisable/);
    expect(gate.stats()).toMatchObject({ usageQueued: 0, usagePending: 0, usageDropped: 0 });
    expect(gate.recordUsage(event(4)).queued).toBe(true);
    await gate.flush();
    expect(gate.stats()).toMatchObject({ usageSent: 1, usageDropped: 0 });
    expect(reported).toHaveLength(0);
  });

  it('counts a sum once against maxQueue, however many events it holds', async () => {
    await using env = await gateEnv({ emu, gate: { usage: { maxQueue: 2, aggregateMs: 60_000 } } });
    const { gate } = env;
    emu.setAccount('many', { customerEmail: 'm@example.com' });
    const unkeyed = (ref: string) => gate.recordUsage({ accountRefId: ref, product: 'api-access', meter: 'api_calls' }).queued;
    const queued = [...Array.from({ length: 20 }, () => unkeyed('user')), ...Array.from({ length: 20 }, () => unkeyed('many'))];
    expect(queued.every(Boolean)).toBe(true);
    // Two sums fill the queue: a third sum, or an event of its own, has no room.
    expect(unkeyed('agg-c')).toBe(false);
    expect(gate.recordUsage(event(1)).queued).toBe(false);
    expect(gate.stats()).toMatchObject({ usageQueued: 40, usageDropped: 2, usagePending: 40 });
    const before = emu.usageTotal('user', 'api-access', 'api_calls');
    await gate.flush();
    expect(emu.usageTotal('user', 'api-access', 'api_calls') - before).toBe(20);
    expect(emu.usageTotal('many', 'api-access', 'api_calls')).toBe(20);
    expect(emu.callCount('usage.record')).toBe(2);
  });

  it('returns, for a summed event, the key ecom9 receives', async () => {
    await using env = await gateEnv({ emu, gate: { usage: { aggregateMs: 60_000 } } });
    const { gate } = env;
    const keys = [1, 2, 3].map(() => gate.recordUsage({ accountRefId: 'user', product: 'api-access', meter: 'api_calls' }).eventKey);
    expect(new Set(keys).size).toBe(1);
    await gate.flush();
    expect(emu.usageEvents.at(-1)).toMatchObject({ eventKey: keys[0], quantity: 3 });
  });

  it('reports a refused product and meter once, and counts every refused event', async () => {
    await using env = await gateEnv({ emu, gate: { usage: { aggregateMs: 0 } } });
    const { gate, reported } = env;
    for (let i = 0; i < 3; i++) gate.recordUsage({ accountRefId: 'user', product: 'ai-images', meter: 'credits' });
    gate.recordUsage({ accountRefId: 'user', product: 'api-access', meter: 'credits' });
    await gate.flush();
    expect(emu.callCount('usage.record')).toBe(4);
    expect(gate.stats()).toMatchObject({ usageFailed: 4, usageRetried: 0 });
    expect(reported.map((e) => (e as Error).message)).toEqual([
      expect.stringMatching(/product "ai-images", meter "credits": invalid_usage_model/),
      expect.stringMatching(/product "api-access", meter "credits": invalid_usage_model/),
    ]);
  });

  it('counts an event in flight when close() gives up on it as dropped, never also as sent', async () => {
    const { rec, client, snapshot } = recorderFor({});
    emu.inject({ endpoint: 'usage.record', kind: 'latency', ms: 1_000 });
    rec.record(event(1));
    await vi.waitFor(() => expect(emu.callCount('usage.record')).toBe(1));
    await rec.close(20);
    expect(snapshot()).toMatchObject({ usageDropped: 1, usageSent: 0, usagePending: 0 });
    expect(String((reported[0] as Error).message)).toMatch(/not confirmed delivered by close\(\)/);
    // The pool closes once no request is in flight: the answer, had it come, would be in by now.
    await client.close();
    await new Promise((r) => setImmediate(r));
    expect(snapshot()).toMatchObject({ usageDropped: 1, usageSent: 0 });
    expect(reported).toHaveLength(1);
  });
});
