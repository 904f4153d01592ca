// The cache contract: TTLs (allow and deny apart), coalesced misses (also when ecom9 fails or an
// invalidation lands), stale-if-error, failMode, invalidation (including a fetch in flight), the max
// bound, and the stats and diagnostics channels that report all of it.
import diagnostics from 'node:diagnostics_channel';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { CHANNELS } from 'ecom9-gate';
import { manualClock } from './support/env';
import { gateEnv } from './support/gate-env';

let clock: ReturnType<typeof manualClock>;
beforeEach(() => {
  clock = manualClock();
});

/** The test's own emulator (acc on pro, free on nothing, no calls yet) and a gate on `clock`. */
async function cacheEnv() {
  // Refresh ahead off: this file pins the cache's behaviour without it (test/refresh-ahead.test.ts has it on).
  const env = await gateEnv({ gate: { now: clock.now, cache: { ttlMs: 60_000, denyTtlMs: 5_000, staleIfErrorMs: 300_000, max: 100, refreshAheadMs: 0 } } });
  const { emu } = env;
  emu.setAccount('acc', { customerEmail: 'a@example.com', subscriptions: [{ subscription: 'studio-suite', tier: 'pro' }] });
  emu.setAccount('free', { customerEmail: 'f@example.com', subscriptions: [] });
  emu.resetCalls();
  return env;
}

describe('TTL', () => {
  it('serves an allow from cache until ttlMs, then asks again', async () => {
    await using env = await cacheEnv();
    const { emu, gate } = env;
    await gate.checkTier('acc', { tiers: 'pro' });
    clock.advance(59_000);
    expect((await gate.checkTier('acc', { tiers: 'pro' })).source).toBe('cache');
    clock.advance(2_000);
    expect((await gate.checkTier('acc', { tiers: 'pro' })).source).toBe('upstream');
    expect(emu.callCount('accounts.status', 'acc')).toBe(2);
  });

  it('keeps a denial only for denyTtlMs', async () => {
    await using env = await cacheEnv();
    const { emu, gate } = env;
    await gate.checkTier('free', { tiers: 'pro' });
    clock.advance(4_000);
    expect((await gate.checkTier('free', { tiers: 'pro' })).source).toBe('cache');
    clock.advance(2_000);
    expect((await gate.checkTier('free', { tiers: 'pro' })).source).toBe('upstream');
    expect(emu.callCount('accounts.status', 'free')).toBe(2);
  });

  it('keeps a tier denial only for denyTtlMs even when the account is active on another tier', async () => {
    await using env = await cacheEnv();
    const { emu, gate } = env;
    emu.setAccount('starter', { customerEmail: 's@example.com', subscriptions: [{ subscription: 'studio-suite', tier: 'starter' }] });
    expect((await gate.checkTier('starter', { tiers: 'pro' })).code).toBe('tier_required');
    clock.advance(4_000);
    expect((await gate.checkTier('starter', { tiers: 'pro' })).source).toBe('cache');
    // Upgraded without a webhook: the denial must not outlive denyTtlMs (5 s), though the fact allowed starter.
    emu.setSubscription('starter', 'studio-suite', 'pro', 'active');
    clock.advance(2_000);
    expect(await gate.checkTier('starter', { tiers: 'pro' })).toMatchObject({ allowed: true, source: 'upstream' });
    expect(emu.callCount('accounts.status', 'starter')).toBe(2);
  });

  it('answers a warm check synchronously through a prepared check', async () => {
    await using env = await cacheEnv();
    const { gate } = env;
    const check = gate.tierCheck({ tiers: 'pro' });
    expect(check.peek('acc')).toBeUndefined();
    await check.check('acc');
    expect(check.peek('acc')).toMatchObject({ allowed: true, source: 'cache' });
  });
});

describe('coalescing', () => {
  it('makes one upstream call for 100 concurrent misses of one account', async () => {
    await using env = await cacheEnv();
    const { emu, gate } = env;
    emu.inject({ endpoint: 'accounts.status', kind: 'latency', ms: 100 });
    const decisions = await Promise.all(Array.from({ length: 100 }, () => gate.checkTier('acc', { tiers: 'pro' })));
    expect(decisions.every((d) => d.allowed)).toBe(true);
    expect(emu.callCount('accounts.status', 'acc')).toBe(1);
    expect(gate.stats()).toMatchObject({ cacheMisses: 100, coalesced: 99 });
  });

  it('makes one upstream call (and its client retry) for 100 concurrent cold misses during an outage', async () => {
    await using env = await cacheEnv();
    const { emu, gate } = env;
    emu.inject({ endpoint: 'accounts.status', kind: 'status', status: 503 });
    const decisions = await Promise.all(Array.from({ length: 100 }, () => gate.checkTier('acc', { tiers: 'pro' })));
    expect(decisions.every((d) => d.status === 503 && d.code === 'upstream_unavailable')).toBe(true);
    // gateFor allows the client 1 retry: 1 call of 2 requests, not one call per check.
    expect(emu.callCount('accounts.status', 'acc')).toBe(2);
    expect(gate.stats()).toMatchObject({ cacheMisses: 100, coalesced: 99, upstreamErrors: 1, failClosedDenied: 100 });
  });

  it('does not fetch again when a full cache evicts fetches in flight', async () => {
    await using env = await cacheEnv();
    const { emu } = env;
    await using smallEnv = await gateEnv({ emu, gate: { now: clock.now, cache: { max: 10 } } });
    const small = smallEnv.gate;
    for (let i = 0; i < 30; i++) emu.setAccount(`evict-${i}`, { subscriptions: [{ subscription: 'studio-suite', tier: 'pro' }] });
    emu.resetCalls();
    emu.inject({ endpoint: 'accounts.status', kind: 'latency', ms: 30 });
    const decisions = await Promise.all(Array.from({ length: 30 }, (_, i) => small.checkTier(`evict-${i}`, { tiers: 'pro' })));
    expect(decisions.every((d) => d.allowed && d.source === 'upstream')).toBe(true);
    expect(emu.callCount('accounts.status')).toBe(30);
    expect(small.stats().cacheSize).toBe(10);
  });
});

describe('when ecom9 fails', () => {
  it('serves a stale decision within staleIfErrorMs, then fails closed with a retry hint', async () => {
    await using env = await cacheEnv();
    const { emu, gate } = env;
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
    await using env = await cacheEnv();
    const { emu, gate } = env;
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

  it('fails closed for every caller that joined a failed refresh of an expired entry', async () => {
    await using env = await cacheEnv();
    const { emu, gate } = env;
    await gate.checkTier('acc', { tiers: 'pro' });
    clock.advance(3_600_000); // far past staleIfErrorMs; the expired fact is still held
    emu.inject({ endpoint: 'accounts.status', kind: 'status', status: 503 });
    const decisions = await Promise.all(Array.from({ length: 3 }, () => gate.checkTier('acc', { tiers: 'pro' })));
    for (const d of decisions) expect(d).toMatchObject({ allowed: false, code: 'upstream_unavailable', status: 503 });
    expect(gate.stats()).toMatchObject({ coalesced: 2, upstreamErrors: 1, failClosedDenied: 3, staleServed: 0 });
  });

  it('serves every caller that joined a failed refresh by the stale rules', async () => {
    await using env = await cacheEnv();
    const { emu, gate } = env;
    await gate.checkTier('acc', { tiers: 'pro' });
    clock.advance(120_000);
    emu.inject({ endpoint: 'accounts.status', kind: 'status', status: 503 });
    const decisions = await Promise.all(Array.from({ length: 3 }, () => gate.checkTier('acc', { tiers: 'pro' })));
    for (const d of decisions) expect(d).toMatchObject({ allowed: true, source: 'stale', ageMs: 120_000 });
    expect(gate.stats()).toMatchObject({ staleServed: 3, upstreamErrors: 1 });
    // The cool-down covers them all: no caller asks again within the second.
    const calls = emu.callCount('accounts.status', 'acc');
    expect((await gate.checkTier('acc', { tiers: 'pro' })).source).toBe('stale');
    expect(emu.callCount('accounts.status', 'acc')).toBe(calls);
  });

  it('lets a single tier check override the failMode', async () => {
    await using env = await cacheEnv();
    const { emu, gate } = env;
    emu.inject({ endpoint: 'accounts.status', kind: 'status', status: 502 });
    const open = await gate.checkTier('acc', { tiers: 'pro', failMode: 'open' });
    expect(open).toMatchObject({ allowed: true, code: 'upstream_unavailable', source: 'fallback' });
    const closed = await gate.checkTier('acc', { tiers: 'pro' });
    expect(closed).toMatchObject({ allowed: false, status: 503 });
    await using openGateEnv = await gateEnv({ emu, gate: { now: clock.now, failMode: 'open' } });
    const openGate = openGateEnv.gate;
    expect(await openGate.checkTier('acc', { tiers: 'pro', failMode: 'closed' })).toMatchObject({ allowed: false, status: 503 });
  });

  it('fails closed with 503 when nothing is cached', async () => {
    await using env = await cacheEnv();
    const { emu, gate } = env;
    emu.inject({ endpoint: 'accounts.status', kind: 'status', status: 500 });
    const d = await gate.checkTier('acc', { tiers: 'pro' });
    expect(d).toMatchObject({ allowed: false, code: 'upstream_unavailable', status: 503, source: 'upstream' });
    expect(gate.stats().upstreamErrors).toBe(1);
  });

  it('fails open when asked, visibly, and counts it', async () => {
    await using env = await cacheEnv();
    const { emu } = env;
    await using openEnv = await gateEnv({ emu, gate: { now: clock.now, failMode: 'open' } });
    const open = openEnv.gate;
    emu.inject({ endpoint: 'accounts.status', kind: 'drop' });
    const d = await open.checkTier('acc', { tiers: 'pro' });
    expect(d).toMatchObject({ allowed: true, code: 'upstream_unavailable', source: 'fallback' });
    expect(open.stats().failOpenAllowed).toBe(1);
  });

  it('lets a single check override the failMode', async () => {
    await using env = await cacheEnv();
    const { emu, gate } = env;
    emu.inject({ endpoint: 'entitlements.check', kind: 'status', status: 502 });
    const d = await gate.checkEntitlement('acc', { product: 'pro-api', entitlement: 'api_access', failMode: 'open' });
    expect(d).toMatchObject({ allowed: true, source: 'fallback' });
    const closed = await gate.checkEntitlement('acc', { product: 'pro-api', entitlement: 'api_access' });
    expect(closed).toMatchObject({ allowed: false, status: 503 });
  });

  it('honours a 429 Retry-After in the 503 it answers', async () => {
    await using env = await cacheEnv();
    const { emu } = env;
    emu.inject({ endpoint: 'accounts.status', kind: 'rate_limit', retryAfter: 7 });
    await using noRetryEnv = await gateEnv({ emu, gate: { now: clock.now, http: { maxRetries: 0 } } });
    const noRetry = noRetryEnv.gate;
    const d = await noRetry.checkTier('acc', { tiers: 'pro' });
    expect(d).toMatchObject({ status: 503, retryAfterSeconds: 7 });
  });
});

describe('invalidate', () => {
  it('drops every entry of the account, whatever it was for', async () => {
    await using env = await cacheEnv();
    const { emu, gate } = env;
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
    await using env = await cacheEnv();
    const { emu, gate } = env;
    emu.inject({ endpoint: 'accounts.status', kind: 'latency', ms: 150, times: 1 });
    const inflight = gate.checkTier('acc', { tiers: 'pro' });
    await vi.waitFor(() => expect(emu.callCount('accounts.status', 'acc')).toBe(1));
    emu.setSubscription('acc', 'studio-suite', 'pro', 'canceled');
    gate.invalidate('acc');
    // The waiter asks again, so even it sees the cancellation...
    expect((await inflight).allowed).toBe(false);
    // ...and the pre-cancellation answer is not in the cache.
    const next = await gate.checkTier('acc', { tiers: 'pro' });
    expect(next).toMatchObject({ allowed: false, source: 'cache' });
    // The emulator answers after its delay, so only the count shows the call was made again.
    expect(emu.callCount('accounts.status', 'acc')).toBe(2);
  });

  it('reaches every caller waiting on a refresh of an expired entry', async () => {
    await using env = await cacheEnv();
    const { emu, gate } = env;
    await gate.checkTier('acc', { tiers: 'pro' });
    clock.advance(61_000); // expired, still held for stale-if-error
    emu.inject({ endpoint: 'accounts.status', kind: 'latency', ms: 150, times: 1 });
    const waiting = Array.from({ length: 3 }, () => gate.checkTier('acc', { tiers: 'pro' }));
    await vi.waitFor(() => expect(emu.callCount('accounts.status', 'acc')).toBe(2));
    emu.setSubscription('acc', 'studio-suite', 'pro', 'canceled');
    gate.invalidate('acc');
    for (const d of await Promise.all(waiting)) expect(d).toMatchObject({ allowed: false, code: 'tier_required' });
    expect(await gate.checkTier('acc', { tiers: 'pro' })).toMatchObject({ allowed: false, source: 'cache' });
    // The refresh was made again once, for all three.
    expect(emu.callCount('accounts.status', 'acc')).toBe(3);
  });

  it('drops the upgrade and payment links too', async () => {
    await using env = await cacheEnv();
    const { emu, gate } = env;
    emu.setAccount('links', {
      customerEmail: 'l@example.com',
      subscriptions: [
        { subscription: 'studio-suite', tier: 'starter' },
        { subscription: 'studio-suite', tier: 'pro', state: 'past_due' },
      ],
    });
    const upgrade = { tiers: 'enterprise', upgradeLink: true } as const;
    const pay = { tiers: 'pro', paymentLink: true } as const;
    const run = async () => {
      expect(await gate.checkTier('links', upgrade)).toMatchObject({ code: 'tier_required', upgradeUrl: expect.any(String) });
      expect(await gate.checkTier('links', pay)).toMatchObject({ code: 'payment_required', paymentUrl: expect.any(String) });
    };
    const counts = () => [emu.callCount('links.resolvePublicUrl', 'links'), emu.callCount('subscriptions.fix', 'links')];
    await run();
    expect(counts()).toEqual([1, 1]);
    // A new status fact (past its deny TTL) whose decisions are not memoised yet: the links come from the cache.
    clock.advance(6_000);
    await run();
    expect(counts()).toEqual([1, 1]);
    gate.invalidate('links');
    await run();
    expect(counts()).toEqual([2, 2]);
  });

  it('does not clear other accounts once more requirements were seen than the cache holds', async () => {
    await using env = await cacheEnv();
    const { emu, gate } = env;
    // Past `max` (100 here) distinct key suffixes, an invalidation scans the keys instead of trying each.
    // In batches of 50: fetches in flight take cache slots too, and must not evict acc's entry.
    const many = async (ref: string, tag: string) => {
      for (let i = 0; i < 101; i += 50) {
        await Promise.all(Array.from({ length: Math.min(50, 101 - i) }, (_, j) => gate.checkEntitlement(ref, { product: `${tag}${i + j}`, entitlement: 'x' })));
      }
    };
    await gate.checkTier('acc', { tiers: 'pro' });
    // Failed lookups (requirements built from request data, say) are not remembered at all...
    emu.inject({ endpoint: 'entitlements.check', kind: 'status', status: 503 });
    await many('attacker', 'failed');
    emu.clearFaults();
    gate.invalidate('someone-else');
    expect(await gate.checkTier('acc', { tiers: 'pro' })).toMatchObject({ source: 'cache' });
    // ...and once more are stored than the cache holds, an invalidation finds the account's keys by prefix.
    await many('attacker', 'stored');
    await gate.checkTier('acc', { tiers: 'pro' });
    await gate.checkEntitlement('acc', { product: 'late', entitlement: 'x' });
    gate.invalidate('someone-else');
    expect(await gate.checkTier('acc', { tiers: 'pro' })).toMatchObject({ source: 'cache' });
    expect(await gate.checkEntitlement('acc', { product: 'late', entitlement: 'x' })).toMatchObject({ source: 'cache' });
    // The account's own entries all go, an expired one (the stale reserve) included.
    clock.advance(61_000);
    gate.invalidate('acc');
    emu.inject({ endpoint: 'accounts.status', kind: 'status', status: 503 });
    expect(await gate.checkTier('acc', { tiers: 'pro' })).toMatchObject({ status: 503, code: 'upstream_unavailable' });
    emu.clearFaults();
    expect(await gate.checkEntitlement('acc', { product: 'late', entitlement: 'x' })).toMatchObject({ source: 'upstream' });
    expect(emu.callCount('entitlements.check', 'acc')).toBe(2);
  });
});

describe('bounds and stats', () => {
  it('keeps at most `max` entries', async () => {
    await using env = await cacheEnv();
    const { gate } = env;
    for (let i = 0; i < 150; i++) await gate.checkTier(`unknown-${i}`, { tiers: 'pro' });
    expect(gate.stats().cacheSize).toBe(100);
  });

  it('publishes counters, invalidations and webhooks on diagnostics_channel', async () => {
    await using env = await cacheEnv();
    const { emu, gate } = env;
    const seen: Array<[string, unknown]> = [];
    const listeners = Object.values(CHANNELS).map((name) => {
      // Every message names its gate; the rest is compared below.
      const listener = (m: unknown) => {
        const { gate: from, ...rest } = m as { gate: unknown };
        expect(from).toBe(gate);
        seen.push([
          name,
          name === CHANNELS.decision ? { kind: (rest as { kind: string }).kind, source: (rest as { decision: { source: string } }).decision.source } : rest,
        ]);
      };
      diagnostics.subscribe(name, listener);
      return () => diagnostics.unsubscribe(name, listener);
    });
    try {
      await gate.checkTier('acc', { tiers: 'pro' });
      await gate.checkTier('acc', { tiers: 'pro' });
      gate.invalidate('acc');
      const { body, headers } = emu.buildWebhook(
        { event: 'subscription-cancelled', account_ref_id: 'acc', transaction_id: 'tx-diag' },
        { timestamp: Math.floor(clock.now() / 1000) },
      );
      expect((await gate.handleWebhook({ rawBody: body, headers })).status).toBe(200);
    } finally {
      for (const off of listeners) off();
    }
    expect(seen).toEqual([
      [CHANNELS.counter, { name: 'cacheMisses', by: 1 }],
      [CHANNELS.decision, { kind: 'tier', source: 'upstream' }],
      [CHANNELS.counter, { name: 'cacheHits', by: 1 }],
      [CHANNELS.decision, { kind: 'tier', source: 'cache' }],
      [CHANNELS.counter, { name: 'invalidations', by: 1 }],
      [CHANNELS.invalidation, { accountRefId: 'acc' }],
      [CHANNELS.counter, { name: 'webhooksReceived', by: 1 }],
      [CHANNELS.counter, { name: 'invalidations', by: 1 }],
      [CHANNELS.invalidation, { accountRefId: 'acc' }],
      [CHANNELS.webhook, { event: 'subscription-cancelled', accountRefId: 'acc', transactionId: 'tx-diag' }],
      [CHANNELS.webhookOutcome, { outcome: 'applied', status: 200 }],
    ]);
    expect(gate.stats()).toMatchObject({ cacheMisses: 1, cacheHits: 1, invalidations: 2, webhooksReceived: 1, cacheSize: 0 });
  });
});

describe('hit counting', () => {
  it('counts one hit per answered check, whether peeked or looked up', async () => {
    await using env = await cacheEnv();
    const { gate } = env;
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
