// Tier and entitlement decisions against the emulator: both status shapes, narrowing by subscription,
// ranking with atLeast, unknown accounts as cached denials, misconfigurations as 500s, and options
// that are bad or changed after use.
import { describe, expect, it } from 'vitest';
import { manualClock } from './support/env';
import { gateEnv } from './support/gate-env';

/** An emulator with one-sub and two-subs, no calls yet, and a gate with tierOrder; a test's own, closed when it ends. */
async function decisionsEnv() {
  const env = await gateEnv({ gate: { now: manualClock().now, tierOrder: ['starter', 'pro', 'enterprise'] } });
  const { emu } = env;
  emu.setAccount('one-sub', { customerEmail: 'one@example.com', subscriptions: [{ subscription: 'studio-suite', tier: 'pro' }] });
  emu.setAccount('two-subs', {
    customerEmail: 'two@example.com',
    subscriptions: [
      { subscription: 'studio-suite', tier: 'starter', state: 'canceled' },
      { subscription: 'studio-suite', tier: 'enterprise', state: 'active' },
    ],
  });
  emu.resetCalls();
  return env;
}

describe('checkTier', () => {
  it('allows an account whose single active subscription has the tier', async () => {
    await using env = await decisionsEnv();
    const { gate } = env;
    const d = await gate.checkTier('one-sub', { tiers: 'pro' });
    expect(d).toMatchObject({ allowed: true, code: 'allowed', status: 200, source: 'upstream', activeTiers: ['pro'] });
  });

  it('denies a tier the account does not have, naming what is required', async () => {
    await using env = await decisionsEnv();
    const { gate } = env;
    const d = await gate.checkTier('one-sub', { tiers: ['enterprise'] });
    expect(d).toMatchObject({ allowed: false, code: 'tier_required', status: 403, requiredTiers: ['enterprise'], activeTiers: ['pro'] });
  });

  it('reads the multiple-subscriptions shape and ignores inactive ones', async () => {
    await using env = await decisionsEnv();
    const { emu, gate } = env;
    expect((await gate.checkTier('two-subs', { tiers: 'enterprise' })).allowed).toBe(true);
    expect((await gate.checkTier('two-subs', { tiers: 'starter' })).allowed).toBe(false);
    // Both checks share one status fetch for the account.
    expect(emu.callCount('accounts.status', 'two-subs')).toBe(1);
  });

  it('narrows to a named subscription with a server-side filter', async () => {
    await using env = await decisionsEnv();
    const { emu, gate } = env;
    emu.setAccount('mixed', {
      customerEmail: 'm@example.com',
      subscriptions: [
        { subscription: 'studio-suite', tier: 'starter' },
        { subscription: 'pro-api', tier: 'pro' },
      ],
    });
    expect((await gate.checkTier('mixed', { tiers: 'pro' })).allowed).toBe(true);
    const narrowed = await gate.checkTier('mixed', { tiers: 'pro', subscription: 'studio-suite' });
    expect(narrowed).toMatchObject({ allowed: false, code: 'tier_required', subscription: 'studio-suite' });
    const call = emu.calls.find((c) => c.endpoint === 'accounts.status' && c.query.subscription === 'studio-suite');
    expect(call).toBeDefined();
    expect(call?.query.tier).toBeUndefined();
  });

  it('ranks tiers with atLeast', async () => {
    await using env = await decisionsEnv();
    const { gate } = env;
    expect((await gate.checkTier('one-sub', { atLeast: 'starter' })).allowed).toBe(true);
    expect((await gate.checkTier('one-sub', { atLeast: 'pro' })).allowed).toBe(true);
    const d = await gate.checkTier('one-sub', { atLeast: 'enterprise' });
    expect(d).toMatchObject({ allowed: false, requiredTiers: ['enterprise'] });
  });

  it('refuses atLeast without tierOrder at set-up, naming the option', async () => {
    await using env = await decisionsEnv();
    const { emu } = env;
    await using plainEnv = await gateEnv({ emu });
    const plain = plainEnv.gate;
    expect(() => plain.tierCheck({ atLeast: 'pro' })).toThrow(/tierOrder/);
  });

  it('caches an unknown account as a denial instead of throwing', async () => {
    await using env = await decisionsEnv();
    const { emu, gate } = env;
    const first = await gate.checkTier('nobody-here', { tiers: 'pro' });
    const second = await gate.checkTier('nobody-here', { tiers: 'pro' });
    expect(first).toMatchObject({ allowed: false, code: 'tier_required', source: 'upstream' });
    expect(second).toMatchObject({ allowed: false, code: 'tier_required', source: 'cache' });
    expect(emu.callCount('accounts.status', 'nobody-here')).toBe(1);
  });

  it('denies a malformed account ref locally without calling ecom9', async () => {
    await using env = await decisionsEnv();
    const { emu, gate } = env;
    for (const ref of ['', '..', '%2e%2E', 'a\u0000b', 'x'.repeat(10_000)]) {
      const d = await gate.checkTier(ref, { tiers: 'pro' });
      expect(d).toMatchObject({ allowed: false, code: 'account_unresolved', status: 401 });
    }
    expect(emu.calls.length).toBe(0);
  });
});

describe('checkEntitlement', () => {
  it('allows, denies and caches entitlement answers', async () => {
    await using env = await decisionsEnv();
    const { emu, gate } = env;
    emu.setAccount('ent', { customerEmail: 'e@example.com' });
    emu.setEntitlement('ent', 'pro-api', 'api_access', true);
    const yes = await gate.checkEntitlement('ent', { product: 'pro-api', entitlement: 'api_access' });
    const no = await gate.checkEntitlement('ent', { product: 'pro-api', entitlement: 'bulk_export' });
    const again = await gate.checkEntitlement('ent', { product: 'pro-api', entitlement: 'api_access' });
    expect(yes).toMatchObject({ allowed: true, source: 'upstream' });
    expect(no).toMatchObject({ allowed: false, code: 'entitlement_required', status: 403, product: 'pro-api', entitlement: 'bulk_export' });
    expect(again).toMatchObject({ allowed: true, source: 'cache' });
    expect(emu.callCount('entitlements.check', 'ent')).toBe(2);
  });

  it('treats an unknown account as a cached denial', async () => {
    await using env = await decisionsEnv();
    const { emu, gate } = env;
    const d = await gate.checkEntitlement('ghost', { product: 'pro-api', entitlement: 'api_access' });
    await gate.checkEntitlement('ghost', { product: 'pro-api', entitlement: 'api_access' });
    expect(d).toMatchObject({ allowed: false, code: 'entitlement_required' });
    expect(emu.callCount('entitlements.check', 'ghost')).toBe(1);
  });
});

describe('misconfiguration', () => {
  it('answers a wrong API key with a 500 reported once, never let through by failMode open', async () => {
    await using env = await decisionsEnv();
    const { emu } = env;
    await using wrongEnv = await gateEnv({ emu, gate: { apiKey: 'not-the-key', failMode: 'open' } });
    const { gate: wrong, reported } = wrongEnv;
    const decisions = [
      await wrong.checkTier('one-sub', { tiers: 'pro' }),
      await wrong.checkTier('one-sub', { tiers: 'pro' }),
      await wrong.checkEntitlement('one-sub', { product: 'pro-api', entitlement: 'api_access' }),
      await wrong.debitCredits({ accountRefId: 'one-sub', product: 'ai-images', meter: 'credits', quantity: 1, failMode: 'open' }),
    ];
    for (const d of decisions) expect(d).toMatchObject({ allowed: false, code: 'misconfigured', status: 500 });
    expect(reported).toHaveLength(1);
    expect(String(reported[0])).toMatch(/API key/);
    expect(String(reported[0])).not.toMatch(/not-the-key/);
    expect(wrong.stats()).toMatchObject({ failOpenAllowed: 0, staleServed: 0 });
    // Not cached: each check asked again.
    expect(emu.callCount('accounts.status', 'one-sub')).toBe(2);
  });

  it('does not hide a refused API key behind a stale fact', async () => {
    await using env = await decisionsEnv();
    const { emu } = env;
    const clock = manualClock();
    await using gEnv = await gateEnv({ emu, gate: { now: clock.now } });
    const g = gEnv.gate;
    await g.checkTier('one-sub', { tiers: 'pro' });
    clock.advance(61_000);
    emu.inject({ endpoint: 'accounts.status', kind: 'status', status: 401, times: 1 });
    expect(await g.checkTier('one-sub', { tiers: 'pro' })).toMatchObject({ code: 'misconfigured', status: 500 });
    expect(g.stats().staleServed).toBe(0);
  });

  it("answers a 404 without ecom9's error body with a 500, not a cached denial", async () => {
    await using env = await decisionsEnv();
    const { emu } = env;
    await using gEnv = await gateEnv({ emu });
    const { gate: g, reported } = gEnv;
    emu.inject({ endpoint: 'accounts.status', kind: 'status', status: 404, body: { detail: 'Not found.' }, times: 2 });
    expect(await g.checkTier('one-sub', { tiers: 'pro' })).toMatchObject({ code: 'misconfigured', status: 500 });
    expect(await g.checkTier('one-sub', { tiers: 'pro' })).toMatchObject({ code: 'misconfigured', status: 500 });
    expect(await g.checkTier('one-sub', { tiers: 'pro' })).toMatchObject({ allowed: true, source: 'upstream' });
    expect(reported).toHaveLength(1);
    expect(String(reported[0])).toMatch(/baseUrl/);
  });

  it('answers every check with a 500 when baseUrl points at the wrong path (a denial for every customer before)', async () => {
    await using env = await decisionsEnv();
    const { emu } = env;
    await using gEnv = await gateEnv({ emu, gate: { baseUrl: new URL('v9/', emu.url).href } });
    const { gate: g, reported } = gEnv;
    expect(await g.checkTier('one-sub', { tiers: 'pro' })).toMatchObject({ code: 'misconfigured', status: 500 });
    expect(await g.checkEntitlement('one-sub', { product: 'pro-api', entitlement: 'api_access' })).toMatchObject({ code: 'misconfigured', status: 500 });
    // Reported once per endpoint that answered so, not once per request.
    expect(reported.map(String)).toEqual([expect.stringMatching(/accounts\.status.*baseUrl/), expect.stringMatching(/entitlements\.check.*baseUrl/)]);
    await g.checkTier('one-sub', { tiers: 'pro' });
    expect(reported).toHaveLength(2);
  });
});

describe('options of a check', () => {
  it('judges a reused options object by what it says now, not when first used', async () => {
    await using env = await decisionsEnv();
    const { emu, gate } = env;
    const opts: { tiers: string | string[]; failMode?: 'open' | 'closed' } = { tiers: 'pro' };
    expect((await gate.checkTier('one-sub', opts)).allowed).toBe(true);
    opts.tiers = 'enterprise';
    expect((await gate.checkTier('one-sub', opts)).allowed).toBe(false);
    opts.tiers = ['starter', 'enterprise'];
    expect((await gate.checkTier('one-sub', opts)).allowed).toBe(false);
    (opts.tiers as string[])[1] = 'pro';
    expect((await gate.checkTier('one-sub', opts)).allowed).toBe(true);
    emu.setAccount('ent', { customerEmail: 'e@example.com' });
    emu.setEntitlement('ent', 'pro-api', 'api_access', true);
    const ent = { product: 'pro-api', entitlement: 'api_access' };
    expect((await gate.checkEntitlement('ent', ent)).allowed).toBe(true);
    ent.entitlement = 'bulk_export';
    expect((await gate.checkEntitlement('ent', ent)).allowed).toBe(false);
  });

  it('rejects bad options instead of throwing synchronously', async () => {
    await using env = await decisionsEnv();
    const { emu } = env;
    await using plainEnv = await gateEnv({ emu });
    const plain = plainEnv.gate;
    let tier: Promise<unknown> | undefined;
    let ent: Promise<unknown> | undefined;
    let none: Promise<unknown> | undefined;
    expect(() => {
      tier = plain.checkTier('one-sub', { atLeast: 'pro' });
      ent = plain.checkEntitlement('one-sub', { product: '', entitlement: 'api_access' });
      none = plain.checkTier('one-sub', undefined as never);
    }).not.toThrow();
    await expect(tier).rejects.toThrow(/tierOrder/);
    await expect(ent).rejects.toThrow(/"product"/);
    await expect(none).rejects.toThrow(/options/);
    await expect(plain.checkTier('one-sub', { tiers: 'pro', failMode: 'opne' as never })).rejects.toThrow(/"failMode"/);
    expect(emu.calls.length).toBe(0);
  });

  it('keeps tier lists apart whatever characters their labels hold', async () => {
    await using env = await decisionsEnv();
    const { emu } = env;
    // Without tierOrder: with it, a label outside it (these odd ones) is refused at definition.
    await using plainEnv = await gateEnv({ emu });
    const gate = plainEnv.gate;
    emu.setAccount('odd', { customerEmail: 'o@example.com', subscriptions: [{ subscription: 'studio-suite', tier: 'a' }] });
    expect((await gate.checkTier('odd', { tiers: ['a', 'b'] })).allowed).toBe(true);
    expect((await gate.checkTier('odd', { tiers: 'a,b' })).allowed).toBe(false);
    expect((await gate.checkTier('odd', { tiers: 'a|b' })).allowed).toBe(false);
    await expect(gate.checkTier('odd', { tiers: 'a\u0000b' })).rejects.toThrow(/"tiers"/);
    // Denials are shared between accounts with the same outcome, but never across different labels.
    emu.setAccount('two', {
      subscriptions: [
        { subscription: 's1', tier: 'a' },
        { subscription: 's2', tier: 'b' },
      ],
    });
    emu.setAccount('one', { subscriptions: [{ subscription: 's1', tier: 'a,b' }] });
    expect((await gate.checkTier('two', { tiers: 'c' })).activeTiers).toEqual(['a', 'b']);
    expect((await gate.checkTier('one', { tiers: 'c' })).activeTiers).toEqual(['a,b']);
  });
});
