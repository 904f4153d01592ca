// Usage recording: enqueue-and-return, delivery with retries under the same key, flush/close,
// outages, the queue bound, and nothing given up on without a report and a count.
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Emulator } from 'ecom9-gate/emulator';
import { UsageDeliveryError } from 'ecom9-gate';
import { gateFor, startEmulator } from './support/env';

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

const event = (i: number) => ({
  accountRefId: 'user',
  product: 'api-access',
  meter: 'api_calls',
  quantity: 1,
  eventKey: `${Date.now()}-${Math.random()}-${i}`,
});

describe('recordUsage', () => {
  it('returns at once and delivers on flush', async () => {
    const gate = gateFor(emu, { onError: (e) => reported.push(e) });
    const before = emu.usageTotal('user', 'api-access', 'api_calls');
    emu.inject({ endpoint: 'usage.record', kind: 'latency', ms: 50 });
    const r = gate.recordUsage({ accountRefId: 'user', product: 'api-access', meter: 'api_calls', quantity: 3 });
    expect(r.queued).toBe(true);
    expect(gate.stats().usagePending).toBe(1);
    await gate.flush();
    expect(emu.usageTotal('user', 'api-access', 'api_calls') - before).toBe(3);
    expect(gate.stats()).toMatchObject({ usageQueued: 1, usageSent: 1, usagePending: 0 });
    await gate.close();
  });

  it('delivers events queued during an outage once ecom9 is back, each counted once', async () => {
    const gate = gateFor(emu, { onError: (e) => reported.push(e) });
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
    expect(reported).toHaveLength(0);
    await gate.close();
  });

  it('gives up after maxAttempts, and reports and counts the event', async () => {
    const gate = gateFor(emu, { onError: (e) => reported.push(e), usage: { maxAttempts: 3 } });
    emu.inject({ endpoint: 'usage.record', kind: 'status', status: 500 });
    gate.recordUsage(event(1));
    await gate.flush();
    expect(gate.stats()).toMatchObject({ usageFailed: 1, usageRetried: 2, usagePending: 0 });
    expect(reported).toHaveLength(1);
    expect(reported[0]).toBeInstanceOf(UsageDeliveryError);
    expect(emu.callCount('usage.record')).toBe(3);
    await gate.close();
  });

  it('reports a product that is not postpaid instead of retrying it', async () => {
    const gate = gateFor(emu, { onError: (e) => reported.push(e) });
    gate.recordUsage({ accountRefId: 'user', product: 'ai-images', meter: 'credits' });
    await gate.flush();
    expect(gate.stats()).toMatchObject({ usageFailed: 1, usageRetried: 0 });
    expect(String((reported[0] as Error).message)).toMatch(/invalid_usage_model/);
    await gate.close();
  });

  it('drops past maxQueue, and reports and counts it', async () => {
    const gate = gateFor(emu, { onError: (e) => reported.push(e), usage: { maxQueue: 2, concurrency: 1 } });
    emu.inject({ endpoint: 'usage.record', kind: 'latency', ms: 30 });
    const results = [0, 1, 2].map((i) => gate.recordUsage(event(i)).queued);
    expect(results).toEqual([true, true, false]);
    expect(gate.stats().usageDropped).toBe(1);
    expect(reported).toHaveLength(1);
    await gate.close();
    expect(gate.stats().usageSent).toBe(2);
  });

  it('refuses a bad event with an error naming the field', () => {
    const gate = gateFor(emu);
    expect(() => gate.recordUsage({ accountRefId: 'user', product: 'api-access', meter: 'api_calls', quantity: -1 })).toThrow(/quantity/);
  });
});

describe('lifecycle', () => {
  it('closes once, however often close() is called, and refuses events after it', async () => {
    const gate = gateFor(emu, { onError: (e) => reported.push(e) });
    gate.recordUsage(event(1));
    await Promise.all([gate.close(), gate.close()]);
    await gate.close();
    expect(gate.stats().usageSent).toBe(1);
    expect(gate.recordUsage(event(2)).queued).toBe(false);
    expect(gate.stats().usageDropped).toBe(1);
  });

  it('refuses an account ref that could never be delivered', () => {
    const gate = gateFor(emu);
    expect(() => gate.recordUsage({ accountRefId: '..', product: 'api-access', meter: 'api_calls' })).toThrow(/accountRefId/);
  });
});

describe('aggregation', () => {
  it('sums unkeyed events per account, product and meter into one call per window', async () => {
    const gate = gateFor(emu);
    emu.setAccount('agg-a', { customerEmail: 'a@example.com' });
    emu.setAccount('agg-b', { customerEmail: 'b@example.com' });
    for (let i = 0; i < 100; i++) gate.recordUsage({ accountRefId: i % 2 ? 'agg-a' : 'agg-b', product: 'api-access', meter: 'api_calls', quantity: 2 });
    expect(gate.stats().usagePending).toBe(100);
    await gate.flush();
    expect(emu.callCount('usage.record')).toBe(2);
    expect(emu.usageTotal('agg-a', 'api-access', 'api_calls')).toBe(100);
    expect(emu.usageTotal('agg-b', 'api-access', 'api_calls')).toBe(100);
    expect(gate.stats()).toMatchObject({ usageQueued: 100, usageSent: 100, usagePending: 0 });
    await gate.close();
  });

  it('sends keyed events and events with metadata on their own', async () => {
    const gate = gateFor(emu);
    gate.recordUsage({ ...event(1) });
    gate.recordUsage({ ...event(2) });
    gate.recordUsage({ accountRefId: 'user', product: 'api-access', meter: 'api_calls', metadata: { path: '/x' } });
    gate.recordUsage({ accountRefId: 'user', product: 'api-access', meter: 'api_calls', metadata: { path: '/y' } });
    await gate.flush();
    expect(emu.callCount('usage.record')).toBe(4);
    await gate.close();
  });

  it('seals the window on its own after aggregateMs', async () => {
    const gate = gateFor(emu, { usage: { aggregateMs: 20 } });
    const before = emu.usageTotal('user', 'api-access', 'api_calls');
    gate.recordUsage({ accountRefId: 'user', product: 'api-access', meter: 'api_calls' });
    await vi.waitFor(() => expect(emu.usageTotal('user', 'api-access', 'api_calls') - before).toBe(1), { timeout: 2_000, interval: 10 });
    await gate.close();
  });

  it('with aggregateMs 0, sends every event on its own', async () => {
    const gate = gateFor(emu, { usage: { aggregateMs: 0 } });
    for (let i = 0; i < 5; i++) gate.recordUsage({ accountRefId: 'user', product: 'api-access', meter: 'api_calls' });
    await gate.flush();
    expect(emu.callCount('usage.record')).toBe(5);
    await gate.close();
  });
});
