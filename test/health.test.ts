// gate.health() for readiness probes, against the emulator with a hand-moved clock: ready when ecom9
// answers, not ready when ecom9 fails with nothing cached to serve or usage goes to the spool, ready
// again once ecom9 answers (or the failure is older than health.windowMs); the bus's state.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { GateOptions, InvalidationBus } from 'ecom9-gate';
import type { Emulator } from 'ecom9-gate/emulator';
import { gateFor, manualClock } from './support/env';
import { gateEnv } from './support/gate-env';

let clock: ReturnType<typeof manualClock>;
let dir: string;

beforeEach(() => {
  clock = manualClock();
  dir = mkdtempSync(join(tmpdir(), 'ecom9-health-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** An emulator where acme is on pro, and a gate on it: the test's own, closed when it ends. */
async function healthEnv(gate?: GateOptions) {
  const env = await gateEnv({ gate });
  env.emu.setAccount('acme', { customerEmail: 'a@example.com', subscriptions: [{ subscription: 'studio-suite', tier: 'pro' }] });
  return env;
}

const down = (emu: Emulator) => emu.inject({ endpoint: 'accounts.status', kind: 'status', status: 503 });

describe('gate.health()', () => {
  it('is ok before any call, and after ecom9 answered', async () => {
    await using env = await healthEnv({ now: clock.now });
    const { gate } = env;
    expect(gate.health()).toEqual({ ok: true, upstream: 'unknown', bus: 'none', store: 'none', usage: { pending: 0, spooled: 0 } });
    await gate.checkTier('acme', { tiers: 'pro' });
    expect(gate.health()).toEqual({ ok: true, upstream: 'ok', bus: 'none', store: 'none', usage: { pending: 0, spooled: 0 } });
  });

  it('is not ok when ecom9 fails with nothing cached, and ok again once it answers', async () => {
    await using env = await healthEnv({ now: clock.now });
    const { emu, gate } = env;
    down(emu);
    expect((await gate.checkTier('acme', { tiers: 'pro' })).code).toBe('upstream_unavailable');
    expect(gate.health()).toMatchObject({ ok: false, upstream: 'failing' });
    clock.advance(30_000);
    expect(gate.health().ok).toBe(false);
    emu.clearFaults();
    expect((await gate.checkTier('acme', { tiers: 'pro' })).allowed).toBe(true);
    expect(gate.health()).toMatchObject({ ok: true, upstream: 'ok' });
  });

  it('takes a 404 for an unknown account as ecom9 answering, and a rejected key as failing', async () => {
    await using env = await healthEnv({ now: clock.now });
    const { emu } = env;
    let { gate } = env;
    expect((await gate.checkTier('nobody-here', { tiers: 'pro' })).code).toBe('tier_required');
    expect(emu.callCount('accounts.status', 'nobody-here')).toBe(1);
    expect(gate.health()).toMatchObject({ ok: true, upstream: 'ok' });
    await gate.close();
    await using wrong = await gateEnv({ emu, gate: { now: clock.now, apiKey: 'wrong-key' } });
    gate = wrong.gate;
    expect((await gate.checkTier('acme', { tiers: 'pro' })).code).toBe('misconfigured');
    expect(gate.health()).toMatchObject({ ok: false, upstream: 'failing' });
  });

  it('is not ok when the key is refused at run time, even with other accounts cached', async () => {
    await using env = await healthEnv({ now: clock.now });
    const { emu, gate } = env;
    expect((await gate.checkTier('acme', { tiers: 'pro' })).allowed).toBe(true);
    emu.inject({ endpoint: 'accounts.status', kind: 'status', status: 401 }); // the key revoked
    expect((await gate.checkTier('globex', { tiers: 'pro' })).code).toBe('misconfigured');
    expect(gate.health()).toMatchObject({ ok: false, upstream: 'failing' });
  });

  it('counts a failure as recent for health.windowMs only', async () => {
    await using env = await healthEnv({ now: clock.now, health: { windowMs: 10_000 } });
    const { emu, gate } = env;
    down(emu);
    await gate.checkTier('acme', { tiers: 'pro' });
    clock.advance(10_000);
    expect(gate.health()).toMatchObject({ ok: false, upstream: 'failing' });
    clock.advance(1);
    expect(gate.health()).toMatchObject({ ok: true, upstream: 'ok' });
  });

  it('stays ok while ecom9 fails but cached facts are served stale', async () => {
    await using env = await healthEnv({ now: clock.now, cache: { ttlMs: 1_000, staleIfErrorMs: 60_000 } });
    const { emu, gate } = env;
    await gate.checkTier('acme', { tiers: 'pro' });
    clock.advance(2_000);
    down(emu);
    expect((await gate.checkTier('acme', { tiers: 'pro' })).source).toBe('stale');
    expect(gate.health()).toMatchObject({ ok: true, upstream: 'failing' });
    // An account with nothing cached falls back to failMode: now the gate cannot serve it.
    emu.setAccount('other', { customerEmail: 'o@example.com', subscriptions: [{ subscription: 'studio-suite', tier: 'pro' }] });
    expect((await gate.checkTier('other', { tiers: 'pro' })).code).toBe('upstream_unavailable');
    expect(gate.health()).toMatchObject({ ok: false, upstream: 'failing' });
  });

  it('is not ok while usage goes to the spool because delivery fails, and ok once delivery works', async () => {
    await using env = await healthEnv({ now: clock.now, usage: { spoolPath: join(dir, 'usage.jsonl'), maxAttempts: 2, aggregateMs: 0 } });
    const { emu, gate } = env;
    // Something cached, so a failing ecom9 alone would not make the gate unready: the spool does.
    await gate.checkTier('acme', { tiers: 'pro' });
    emu.inject({ endpoint: 'usage.record', kind: 'status', status: 503 });
    gate.recordUsage({ accountRefId: 'acme', product: 'api-access', meter: 'api_calls', quantity: 1 });
    expect(gate.health()).toMatchObject({ ok: true, usage: { pending: 1, spooled: 0 } });
    await gate.flush();
    expect(emu.callCount('usage.record')).toBe(2);
    expect(gate.health()).toMatchObject({ ok: false, upstream: 'failing', usage: { pending: 0, spooled: 1 } });
    emu.clearFaults();
    gate.recordUsage({ accountRefId: 'acme', product: 'api-access', meter: 'api_calls', quantity: 1 });
    await gate.flush();
    expect(emu.usageTotal('acme', 'api-access', 'api_calls')).toBe(1);
    // The spooled event waits for the next start; the gate is delivering again.
    expect(gate.health()).toEqual({ ok: true, upstream: 'ok', bus: 'none', store: 'none', usage: { pending: 0, spooled: 1 } });
  });

  it('does not count usage given up on without a spool as spooled', async () => {
    await using env = await healthEnv({ now: clock.now, usage: { maxAttempts: 1, aggregateMs: 0 } });
    const { emu, gate } = env;
    emu.inject({ endpoint: 'usage.record', kind: 'status', status: 503 });
    gate.recordUsage({ accountRefId: 'acme', product: 'api-access', meter: 'api_calls', quantity: 1 });
    await gate.flush();
    expect(gate.health().usage).toEqual({ pending: 0, spooled: 0 });
    expect(gate.stats().usageFailed).toBe(1);
  });

  it("reports the bus: failing after a publish error within the window, or the bus's own word", async () => {
    const failing: InvalidationBus = {
      publish: () => Promise.reject(new Error('redis down')),
      subscribe: () => {},
    };
    await using env = await healthEnv({ now: clock.now, bus: failing });
    const { emu } = env;
    let { gate } = env;
    expect(gate.health().bus).toBe('ok');
    gate.invalidate('acme');
    await new Promise((r) => setImmediate(r));
    expect(gate.health()).toMatchObject({ ok: true, bus: 'failing' });
    clock.advance(60_001);
    expect(gate.health().bus).toBe('ok');
    await gate.close();

    const reporting = { publish: () => {}, subscribe: () => {}, health: () => 'failing' as const };
    await using other = await gateEnv({ emu, gate: { now: clock.now, bus: reporting } });
    gate = other.gate;
    expect(gate.health().bus).toBe('failing');
  });

  it('refuses a bad health.windowMs, naming it', async () => {
    await using env = await healthEnv();
    expect(() => gateFor(env.emu, { health: { windowMs: -1 } })).toThrow(/ecom9-gate: createGate: invalid options: "health\.windowMs"/);
  });
});
