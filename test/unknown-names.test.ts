// Typo'd billing names are said, once: a tier outside tierOrder throws where the check is defined;
// otherwise the first denial ecom9 answers makes the gate look the names up in ecom9's catalogue and
// report one it does not hold (UnknownNameError, code unknown_name) to onError, never per request.
import { describe, expect, it, vi } from 'vitest';
import { ArgumentError, UnknownNameError } from 'ecom9-gate';
import { expressGate } from 'ecom9-gate/express';
import { gateEnv } from './support/gate-env';

describe('a tier missing from tierOrder', () => {
  it('throws where the check is defined, with the nearest tier', async () => {
    await using env = await gateEnv({ gate: { tierOrder: ['starter', 'pro', 'enterprise'] } });
    const { emu, gate } = env;
    expect(() => gate.tierCheck({ tiers: 'Pro' })).toThrow(ArgumentError);
    expect(() => gate.tierCheck({ tiers: 'Pro' })).toThrow('tier "Pro" is not in the gate\'s "tierOrder" (did you mean "pro"?)');
    expect(() => gate.tierCheck({ atLeast: 'enterprize' })).toThrow('(did you mean "enterprise"?)');
    const ecom9 = expressGate(gate, { accountRefId: () => 'acme' });
    expect(() => ecom9.requireTier(['pro', 'entreprise'])).toThrow('tier "entreprise" is not in the gate\'s "tierOrder" (did you mean "enterprise"?)');
    expect(emu.callCount()).toBe(0);
  });
});

describe('a name ecom9 does not know, without tierOrder', () => {
  it('requireTier("Pro"): every account denied, reported once to onError with the nearest tier', async () => {
    await using env = await gateEnv();
    const { emu, gate, reported } = env;
    const check = gate.tierCheck({ tiers: 'Pro' });
    const before = emu.callCount('tiers.list');
    for (const ref of ['acme', 'globex', 'initech']) expect((await check.check(ref, 'GET /reports')).code).toBe('tier_required');
    await vi.waitFor(() => expect(reported).toHaveLength(1));
    const e = reported[0] as UnknownNameError;
    expect(e).toBeInstanceOf(UnknownNameError);
    expect(e).toMatchObject({ code: 'unknown_name', kind: 'tier', label: 'Pro', suggestion: 'pro', route: 'GET /reports' });
    expect(e.message).toBe('ecom9-gate: ecom9 knows no tier "Pro" (did you mean "pro"?): requireTier("Pro") on GET /reports denies every account');
    // Later denials neither report again nor read the catalogue again.
    const looked = emu.callCount('tiers.list');
    for (let i = 0; i < 20; i++) await gate.checkTier(`nobody-${i}`, { tiers: 'Pro' });
    expect(reported).toHaveLength(1);
    expect(emu.callCount('tiers.list')).toBe(looked);
    expect(looked - before).toBe(1);
  });

  it('requireEntitlement("pro-apii", …) reports the product; a subscription typo is reported too', async () => {
    await using env = await gateEnv();
    const { gate, reported } = env;
    expect((await gate.checkEntitlement('acme', { product: 'pro-apii', entitlement: 'api_access' })).code).toBe('entitlement_required');
    expect((await gate.checkTier('acme', { tiers: 'pro', subscription: 'studio-suit' })).code).toBe('tier_required');
    await vi.waitFor(() => expect(reported).toHaveLength(2));
    expect(reported.map((e) => [(e as UnknownNameError).kind, (e as UnknownNameError).label, (e as UnknownNameError).suggestion]).sort()).toEqual([
      ['product', 'pro-apii', 'pro-api'],
      ['subscription', 'studio-suit', 'studio-suite'],
    ]);
  });

  it('a denial on names ecom9 knows reports nothing', async () => {
    await using env = await gateEnv();
    const { gate, reported } = env;
    expect((await gate.checkTier('globex', { tiers: 'enterprise', subscription: 'studio-suite' })).code).toBe('tier_required');
    expect((await gate.checkEntitlement('globex', { product: 'pro-api', entitlement: 'api_access' })).code).toBe('entitlement_required');
    await gate.checkTier('acme', { tiers: 'Pro' }); // a third check, whose report shows the lookups above are done
    await vi.waitFor(() => expect(reported).toHaveLength(1));
    expect((reported[0] as UnknownNameError).label).toBe('Pro');
  });
});

describe("a check's own options", () => {
  it('checkTier and checkEntitlement name a misspelt key (ArgumentError, a rejected promise)', async () => {
    await using env = await gateEnv();
    const { gate } = env;
    await expect(gate.checkTier('acme', { tier: 'pro' } as never)).rejects.toThrow('tier check: unknown option "tier" (did you mean "tiers"?)');
    await expect(gate.checkEntitlement('acme', { product: 'pro-api', entitlment: 'api_access' } as never)).rejects.toThrow(ArgumentError);
    await expect(gate.checkEntitlement('acme', { product: 'pro-api', entitlment: 'api_access' } as never)).rejects.toThrow('(did you mean "entitlement"?)');
  });
});
