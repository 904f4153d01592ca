// Refresh ahead (cache.refreshAheadMs): steady traffic never waits for ecom9 after the first check,
// a webhook's drop is fetched again in the background (the next check denied, the one after from the
// cache), idle accounts are left alone, denials are not refreshed, a fleet refreshes once, and 0
// keeps the old behaviour. Every clock is injected; waits are for a positive signal only.
import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Emulator } from 'ecom9-gate/emulator';
import { createGate, OptionsError, type Gate, type GateOptions } from 'ecom9-gate';
import { redisBus, redisStore } from 'ecom9-gate/redis';
import { manualClock, startEmulator } from './support/env';
import { gateEnv } from './support/gate-env';
import { ensureRedis } from './support/redis';

let emu: Emulator;
beforeAll(async () => {
  emu = await startEmulator();
});
afterAll(async () => {
  await emu.close();
});
afterEach(() => {
  emu.clearFaults();
});

const TTL = 10_000;
const PRO = { tiers: 'pro' } as const;

function proAccount(): string {
  const acc = `ra-${randomUUID()}`;
  emu.setAccount(acc, { customerEmail: 'a@example.com', subscriptions: [{ subscription: 'studio-suite', tier: 'pro' }] });
  return acc;
}
const statusCalls = (acc: string) => emu.callCount('accounts.status', acc);

/** A gate on the file's emulator, closed with the test's `await using`. */
function gateWith(clock: ReturnType<typeof manualClock>, cache: NonNullable<GateOptions['cache']> = {}, extra: GateOptions = {}) {
  // refreshAheadMs left undefined: the default (a tenth of the TTL), which gateFor turns off otherwise.
  return gateEnv({ emu, gate: { now: clock.now, cache: { ttlMs: TTL, denyTtlMs: 5_000, refreshAheadMs: undefined, ...cache }, ...extra } });
}

/** A refresh replaced the fact: the new one holds no decision yet, so the warm peek misses once. */
const refreshed = (gate: Gate, acc: string) => vi.waitFor(() => expect(gate.tierCheck(PRO).peek(acc)).toBeUndefined(), { timeout: 5_000 });

describe('steady traffic', () => {
  it('over 5 TTLs no check waits for ecom9 after the first, about one status call per TTL', async () => {
    const clock = manualClock();
    await using env = await gateWith(clock);
    const { gate } = env;
    const acc = proAccount();
    expect((await gate.checkTier(acc, PRO)).source).toBe('upstream');
    const sources = new Set<string>();
    let refreshes = 0;
    // A check every 500 ms for 5 TTLs (100 checks).
    for (let t = 500; t <= 5 * TTL; t += 500) {
      clock.advance(500);
      const d = await gate.checkTier(acc, PRO);
      expect(d.allowed).toBe(true);
      sources.add(d.source);
      const now = gate.stats().refreshes;
      if (now > refreshes) {
        refreshes = now;
        await refreshed(gate, acc);
      }
    }
    expect([...sources]).toEqual(['cache']);
    // One refresh when each fact enters its last tenth (every 9.5 s here): 5 in 50 s, plus the first fetch.
    expect(refreshes).toBe(5);
    expect(statusCalls(acc)).toBe(6);
    expect(gate.stats()).toMatchObject({ cacheMisses: 1, refreshErrors: 0 });
  });

  it('a check that finds the fact expired while its refresh runs waits for that refresh, never a second call or the old fact', async () => {
    const clock = manualClock();
    await using env = await gateWith(clock);
    const { gate } = env;
    const acc = proAccount();
    await gate.checkTier(acc, PRO);
    emu.inject({ endpoint: 'accounts.status', accountRefId: acc, kind: 'latency', ms: 300, times: 1 });
    clock.advance(TTL - 500);
    expect((await gate.checkTier(acc, PRO)).source).toBe('cache');
    expect(gate.stats().refreshes).toBe(1);
    // Cancelled while the refresh is held: the refresh reads the cancellation.
    emu.setSubscription(acc, 'studio-suite', 'pro', 'canceled');
    clock.advance(1_000);
    const d = await gate.checkTier(acc, PRO);
    expect(d).toMatchObject({ allowed: false, code: 'tier_required', source: 'upstream' });
    expect(statusCalls(acc)).toBe(2);
  });

  it('does not refresh a denial ahead', async () => {
    const clock = manualClock();
    await using env = await gateWith(clock);
    const { gate } = env;
    const acc = `ra-free-${randomUUID()}`;
    emu.setAccount(acc, { customerEmail: 'f@example.com', subscriptions: [] });
    expect((await gate.checkTier(acc, PRO)).allowed).toBe(false);
    clock.advance(4_800);
    expect((await gate.checkTier(acc, PRO)).source).toBe('cache');
    expect(gate.stats().refreshes).toBe(0);
    expect(statusCalls(acc)).toBe(1);
  });

  it('a failed refresh keeps the fact until it expires and is not retried on every check', async () => {
    const clock = manualClock();
    await using env = await gateWith(clock);
    const { gate } = env;
    const acc = proAccount();
    await gate.checkTier(acc, PRO);
    emu.inject({ endpoint: 'accounts.status', accountRefId: acc, kind: 'status', status: 500 });
    clock.advance(TTL - 900);
    expect((await gate.checkTier(acc, PRO)).source).toBe('cache');
    await vi.waitFor(() => expect(gate.stats().refreshErrors).toBe(1), { timeout: 5_000 });
    for (let i = 0; i < 20; i++) expect((await gate.checkTier(acc, PRO)).source).toBe('cache');
    expect(gate.stats().refreshes).toBe(1);
  });
});

describe('after a webhook', () => {
  it('a cancellation denies the very next check, and the entry is fetched again in the background once', async () => {
    const clock = manualClock();
    await using env = await gateWith(clock);
    const { gate } = env;
    const acc = proAccount();
    expect((await gate.checkTier(acc, PRO)).allowed).toBe(true);
    clock.advance(1_000);
    emu.setSubscription(acc, 'studio-suite', 'pro', 'canceled');
    const { body, headers } = emu.buildWebhook({ event: 'subscription-cancelled', account_ref_id: acc }, { timestamp: Math.floor(clock.now() / 1000) });
    expect((await gate.handleWebhook({ rawBody: body, headers })).status).toBe(200);
    expect(gate.stats().refreshes).toBe(1);
    // The very next check: denied (it joined the refetch, or found it done).
    expect(await gate.checkTier(acc, PRO)).toMatchObject({ allowed: false, code: 'tier_required' });
    // A moment later: from the refetched entry.
    expect((await gate.checkTier(acc, PRO)).source).toBe('cache');
    expect(statusCalls(acc)).toBe(2);
  });

  it('an upgrade is answered from the refetched entry without the check asking ecom9', async () => {
    const clock = manualClock();
    await using env = await gateWith(clock);
    const { gate } = env;
    const acc = proAccount();
    emu.setSubscription(acc, 'studio-suite', 'starter', 'active');
    expect((await gate.checkTier(acc, PRO)).allowed).toBe(false);
    emu.setSubscription(acc, 'studio-suite', 'pro', 'active');
    gate.invalidate(acc);
    await vi.waitFor(() => expect(statusCalls(acc)).toBe(2), { timeout: 5_000 });
    const d = await gate.checkTier(acc, PRO);
    expect(d.allowed).toBe(true);
    expect(statusCalls(acc)).toBe(2);
  });

  it('an account nobody read within the last TTL is not fetched again', async () => {
    const clock = manualClock();
    await using env = await gateWith(clock, { ttlMs: TTL, staleIfErrorMs: 600_000 });
    const { gate } = env;
    const idle = proAccount();
    const busy = proAccount();
    await gate.checkTier(idle, PRO);
    await gate.checkTier(busy, PRO);
    clock.advance(TTL + 1);
    await gate.checkTier(busy, PRO);
    // The idle account's fact is kept (the stale reserve), but read more than a TTL ago.
    gate.invalidate(idle);
    gate.invalidate(busy);
    // The busy one is fetched again (the positive signal); the idle one is not.
    await vi.waitFor(() => expect(statusCalls(busy)).toBe(3), { timeout: 5_000 });
    expect(gate.stats().refreshes).toBe(1);
    expect(statusCalls(idle)).toBe(1);
  });
});

describe('refreshAheadMs: 0', () => {
  it('keeps the old behaviour: the check after expiry waits, and a webhook only drops', async () => {
    const clock = manualClock();
    await using env = await gateWith(clock, { refreshAheadMs: 0 });
    const { gate } = env;
    const acc = proAccount();
    await gate.checkTier(acc, PRO);
    clock.advance(TTL - 100);
    expect((await gate.checkTier(acc, PRO)).source).toBe('cache');
    clock.advance(200);
    expect((await gate.checkTier(acc, PRO)).source).toBe('upstream');
    gate.invalidate(acc);
    expect(gate.stats().refreshes).toBe(0);
    expect(statusCalls(acc)).toBe(2);
    expect((await gate.checkTier(acc, PRO)).source).toBe('upstream');
  });

  it('rejects a window as long as the TTL, naming the option', () => {
    expect(() => createGate({ apiKey: 'k', cache: { ttlMs: 1_000, refreshAheadMs: 1_000 } })).toThrow(OptionsError);
    expect(() => createGate({ apiKey: 'k', cache: { ttlMs: 1_000, refreshAheadMs: 1_000 } })).toThrow(/cache\.refreshAheadMs/);
  });
});

describe('a fleet with a redisStore', () => {
  it('refreshes a fact once for every instance', async () => {
    const url = await ensureRedis();
    const prefix = `ra-${randomUUID()}:`;
    const clock = manualClock();
    const stores = [redisStore({ url, prefix }), redisStore({ url, prefix }), redisStore({ url, prefix })] as const;
    await using a = await gateWith(clock, {}, { store: stores[0] });
    await using b = await gateWith(clock, {}, { store: stores[1] });
    await using c = await gateWith(clock, {}, { store: stores[2] });
    const gates = [a.gate, b.gate, c.gate];
    await vi.waitFor(() => expect(stores.every((s) => s.connected)).toBe(true), { timeout: 5_000 });
    const acc = proAccount();
    for (const g of gates) await g.checkTier(acc, PRO);
    expect(statusCalls(acc)).toBe(1);
    clock.advance(TTL - 500);
    await Promise.all(gates.map((g) => g.checkTier(acc, PRO)));
    for (const g of gates) await refreshed(g, acc);
    // Every instance took the one new answer.
    expect(statusCalls(acc)).toBe(2);
    clock.advance(1_000);
    for (const g of gates) expect((await g.checkTier(acc, PRO)).source).toBe('cache');
    expect(statusCalls(acc)).toBe(2);
  });

  it('after a webhook on one instance, the fleet fetches the account again once, and every instance then answers from its cache', async () => {
    const url = await ensureRedis();
    const prefix = `ra-${randomUUID()}:`;
    const channel = `ra-${randomUUID()}`;
    const clock = manualClock();
    const stores = [redisStore({ url, prefix }), redisStore({ url, prefix }), redisStore({ url, prefix })] as const;
    const buses = [redisBus({ url, channel }), redisBus({ url, channel }), redisBus({ url, channel })] as const;
    await using a = await gateWith(clock, {}, { store: stores[0], bus: buses[0] });
    await using b = await gateWith(clock, {}, { store: stores[1], bus: buses[1] });
    await using c = await gateWith(clock, {}, { store: stores[2], bus: buses[2] });
    const gates = [a.gate, b.gate, c.gate];
    // All live: an invalidation published now reaches all three.
    await vi.waitFor(() => expect([...stores, ...buses].every((x) => x.connected)).toBe(true), { timeout: 5_000 });
    const acc = proAccount();
    for (const g of gates) expect((await g.checkTier(acc, PRO)).allowed).toBe(true);
    expect(statusCalls(acc)).toBe(1);
    emu.setSubscription(acc, 'studio-suite', 'pro', 'canceled');
    const [first] = gates as [Gate, ...Gate[]];
    const { body, headers } = emu.buildWebhook({ event: 'subscription-cancelled', account_ref_id: acc }, { timestamp: Math.floor(clock.now() / 1000) });
    expect((await first.handleWebhook({ rawBody: body, headers })).status).toBe(200);
    await vi.waitFor(() => expect(gates.map((g) => g.stats().refreshes)).toEqual([1, 1, 1]), { timeout: 5_000 });
    for (const g of gates) expect(await g.checkTier(acc, PRO)).toMatchObject({ allowed: false, code: 'tier_required' });
    expect(statusCalls(acc)).toBe(2);
  });
});
