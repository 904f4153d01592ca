// The cache contract: TTLs (allow and deny apart), coalesced misses, stale-if-error, failMode,
// invalidation (including a fetch in flight), the max bound, and the stats that report all of it.
import diagnostics from 'node:diagnostics_channel';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Emulator } from 'ecom9-gate/emulator';
import { CHANNELS, type Gate } from 'ecom9-gate';
import { gateFor, manualClock, startEmulator } from './support/env';

let emu: Emulator;
let clock: ReturnType<typeof manualClock>;
let gate: Gate;

beforeAll(async () => {
  emu = await startEmulator();
});
afterAll(async () => {
  await emu.close();
});
beforeEach(() => {
  emu.clearFaults();
  clock = manualClock();
  gate = gateFor(emu, { now: clock.now, cache: { ttlMs: 60_000, denyTtlMs: 5_000, staleIfErrorMs: 300_000, max: 100 } });
  emu.setAccount('acc', { customerEmail: 'a@example.com', subscriptions: [{ subscription: 'studio-suite', tier: 'pro' }] });
  emu.setAccount('free', { customerEmail: 'f@example.com', subscriptions: [] });
  emu.resetCalls();
});

describe('TTL', () => {
  it('serves an allow from cache until ttlMs, then asks again', async () => {
    await gate.checkTier('acc', { tiers: 'pro' });
    clock.advance(59_000);
    expect((await gate.checkTier('acc', { tiers: 'pro' })).source).toBe('cache');
    clock.advance(2_000);
    expect((await gate.checkTier('acc', { tiers: 'pro' })).source).toBe('upstream');
    expect(emu.callCount('accounts.status', 'acc')).toBe(2);
  });

  it('keeps a denial only for denyTtlMs', async () => {
    await gate.checkTier('free', { tiers: 'pro' });
    clock.advance(4_000);
    expect((await gate.checkTier('free', { tiers: 'pro' })).source).toBe('cache');
    clock.advance(2_000);
    expect((await gate.checkTier('free', { tiers: 'pro' })).source).toBe('upstream');
    expect(emu.callCount('accounts.status', 'free')).toBe(2);
  });

  it('answers a warm check synchronously through a prepared check', async () => {
    const check = gate.tierCheck({ tiers: 'pro' });
    expect(check.peek('acc')).toBeUndefined();
    await check.check('acc');
    expect(check.peek('acc')).toMatchObject({ allowed: true, source: 'cache' });
  });
});

describe('coalescing', () => {
  it('makes one upstream call for 50 concurrent misses of one account', async () => {
    emu.inject({ endpoint: 'accounts.status', kind: 'latency', ms: 100 });
    const decisions = await Promise.all(Array.from({ length: 50 }, () => gate.checkTier('acc', { tiers: 'pro' })));
    expect(decisions.every((d) => d.allowed)).toBe(true);
    expect(emu.callCount('accounts.status', 'acc')).toBe(1);
    expect(gate.stats()).toMatchObject({ cacheMisses: 50, coalesced: 49 });
  });
});

describe('when ecom9 fails', () => {
  it('serves a stale decision within staleIfErrorMs, then fails closed with a retry hint', async () => {
    await gate.checkTier('acc', { tiers: 'pro' });
    emu.inject({ endpoint: 'accounts.status', kind: 'status', status: 503 });
    clock.advance(120_000);
    const stale = await gate.checkTier('acc', { tiers: 'pro' });
    expect(stale).toMatchObject({ allowed: true, source: 'stale', ageMs: 120_000 });
    clock.advance(200_000);
    const closed = await gate.checkTier('acc', { tiers: 'pro' });
    expect(closed).toMatchObject({ allowed: false, code: 'upstream_unavailable', status: 503 });
    expect(closed.retryAfterSeconds).toBeGreaterThan(0);
    expect(gate.stats()).toMatchObject({ staleServed: 1, failClosedDenied: 1 });
  });

  it('serves stale without asking again for a second after a failure, then asks again', async () => {
    await gate.checkTier('acc', { tiers: 'pro' });
    clock.advance(61_000);
    emu.inject({ endpoint: 'accounts.status', kind: 'status', status: 503 });
    expect((await gate.checkTier('acc', { tiers: 'pro' })).source).toBe('stale');
    const calls = emu.callCount('accounts.status', 'acc');
    for (let i = 0; i < 20; i++) expect((await gate.checkTier('acc', { tiers: 'pro' })).source).toBe('stale');
    expect(emu.callCount('accounts.status', 'acc')).toBe(calls);
    clock.advance(1_001);
    emu.clearFaults();
    expect((await gate.checkTier('acc', { tiers: 'pro' })).source).toBe('upstream');
  });

  it('fails closed with 503 when nothing is cached', async () => {
    emu.inject({ endpoint: 'accounts.status', kind: 'status', status: 500 });
    const d = await gate.checkTier('acc', { tiers: 'pro' });
    expect(d).toMatchObject({ allowed: false, code: 'upstream_unavailable', status: 503, source: 'upstream' });
    expect(gate.stats().upstreamErrors).toBe(1);
  });

  it('fails open when asked, visibly, and counts it', async () => {
    const open = gateFor(emu, { now: clock.now, failMode: 'open' });
    emu.inject({ endpoint: 'accounts.status', kind: 'drop' });
    const d = await open.checkTier('acc', { tiers: 'pro' });
    expect(d).toMatchObject({ allowed: true, code: 'upstream_unavailable', source: 'fallback' });
    expect(open.stats().failOpenAllowed).toBe(1);
  });

  it('lets a single check override the failMode', async () => {
    emu.inject({ endpoint: 'entitlements.check', kind: 'status', status: 502 });
    const d = await gate.checkEntitlement('acc', { product: 'pro-api', entitlement: 'api_access', failMode: 'open' });
    expect(d).toMatchObject({ allowed: true, source: 'fallback' });
    const closed = await gate.checkEntitlement('acc', { product: 'pro-api', entitlement: 'api_access' });
    expect(closed).toMatchObject({ allowed: false, status: 503 });
  });

  it('honours a 429 Retry-After in the 503 it answers', async () => {
    emu.inject({ endpoint: 'accounts.status', kind: 'rate_limit', retryAfter: 7 });
    const noRetry = gateFor(emu, { now: clock.now, http: { maxRetries: 0 } });
    const d = await noRetry.checkTier('acc', { tiers: 'pro' });
    expect(d).toMatchObject({ status: 503, retryAfterSeconds: 7 });
  });
});

describe('invalidate', () => {
  it('drops every entry of the account, whatever it was for', async () => {
    await gate.checkTier('acc', { tiers: 'pro' });
    await gate.checkTier('acc', { tiers: 'pro', subscription: 'studio-suite' });
    await gate.checkEntitlement('acc', { product: 'pro-api', entitlement: 'api_access' });
    emu.setSubscription('acc', 'studio-suite', 'pro', 'canceled');
    gate.invalidate('acc');
    expect((await gate.checkTier('acc', { tiers: 'pro' })).allowed).toBe(false);
    expect((await gate.checkTier('acc', { tiers: 'pro', subscription: 'studio-suite' })).allowed).toBe(false);
    await gate.checkEntitlement('acc', { product: 'pro-api', entitlement: 'api_access' });
    expect(emu.callCount('accounts.status', 'acc')).toBe(4);
    expect(emu.callCount('entitlements.check', 'acc')).toBe(2);
  });

  it('never writes back what a fetch in flight during the invalidation read', async () => {
    emu.inject({ endpoint: 'accounts.status', kind: 'latency', ms: 150, times: 1 });
    const inflight = gate.checkTier('acc', { tiers: 'pro' });
    await new Promise((r) => setTimeout(r, 50));
    emu.setSubscription('acc', 'studio-suite', 'pro', 'canceled');
    gate.invalidate('acc');
    // The waiter asks again, so even it sees the cancellation...
    expect((await inflight).allowed).toBe(false);
    // ...and the pre-cancellation answer is not in the cache.
    const next = await gate.checkTier('acc', { tiers: 'pro' });
    expect(next).toMatchObject({ allowed: false, source: 'cache' });
  });
});

describe('bounds and stats', () => {
  it('keeps at most `max` entries', async () => {
    for (let i = 0; i < 150; i++) await gate.checkTier(`unknown-${i}`, { tiers: 'pro' });
    expect(gate.stats().cacheSize).toBe(100);
  });

  it('publishes each counter on diagnostics_channel', async () => {
    const seen: string[] = [];
    const listener = (m: unknown) => seen.push((m as { name: string }).name);
    diagnostics.subscribe(CHANNELS.counter, listener);
    try {
      await gate.checkTier('acc', { tiers: 'pro' });
      await gate.checkTier('acc', { tiers: 'pro' });
    } finally {
      diagnostics.unsubscribe(CHANNELS.counter, listener);
    }
    expect(seen).toEqual(['cacheMisses', 'cacheHits']);
    expect(gate.stats()).toMatchObject({ cacheMisses: 1, cacheHits: 1, cacheSize: 1 });
  });
});

describe('hit counting', () => {
  it('counts one hit per answered check, whether peeked or looked up', async () => {
    const pro = gate.tierCheck({ tiers: 'pro' });
    const ent = gate.tierCheck({ tiers: 'enterprise' });
    await pro.check('acc');
    expect(pro.peek('acc')).toBeDefined();
    // Same account, new requirement: the fact is cached but this decision is not memoised yet.
    expect(ent.peek('acc')).toBeUndefined();
    await ent.check('acc');
    expect(gate.stats()).toMatchObject({ cacheMisses: 1, cacheHits: 2 });
  });
});
