// One rule each, whatever the entry point: a code (product, meter, entitlement, tier) is a non-empty
// string without NUL, a quantity a positive safe integer, and ecom9's own 404 is told by its
// documented body. These are the edge cases where an entry point used to be looser.
import { describe, expect, it } from 'vitest';
import { expressGate } from 'ecom9-gate/express';
import { koaGate } from 'ecom9-gate/koa';
import { ArgumentError, MisconfigurationError, OptionsError, UsageDeliveryError } from 'ecom9-gate';
import { gateEnv } from './support/gate-env';

/** An emulator and a gate of the test's own, sending each usage event at once. */
const rulesEnv = () => gateEnv({ gate: { usage: { aggregateMs: 0 } } });

const NUL = 'ai\u0000images';

describe('a code holds no NUL, at every entry point', () => {
  it('debitCredits refuses it before any call to ecom9', async () => {
    await using env = await rulesEnv();
    const { emu, gate } = env;
    await expect(gate.debitCredits({ accountRefId: 'buyer', product: NUL, meter: 'credits', quantity: 1 })).rejects.toThrow(ArgumentError);
    await expect(gate.debitCredits({ accountRefId: 'buyer', product: 'ai-images', meter: 'cred\u0000its', quantity: 1 })).rejects.toThrow(/"meter"/);
    expect(emu.callCount('credits.debit')).toBe(0);
  });

  it('chargeCredits and meterUsage refuse it when the route is defined', async () => {
    await using env = await rulesEnv();
    const { gate } = env;
    const e = expressGate(gate, { accountRefId: () => 'buyer' });
    expect(() => e.chargeCredits({ product: NUL, meter: 'credits', quantity: 1 })).toThrow(OptionsError);
    expect(() => e.meterUsage({ product: 'api-access', meter: 'api\u0000calls' })).toThrow(/meterUsage needs "product" and "meter"/);
    const k = koaGate(gate, { accountRefId: () => 'buyer' });
    expect(() => k.chargeCredits({ product: 'ai-images', meter: '\u0000', quantity: 1 })).toThrow(OptionsError);
  });

  it('recordUsage refuses it before anything is queued', async () => {
    await using env = await rulesEnv();
    const { emu, gate } = env;
    expect(() => gate.recordUsage({ accountRefId: 'user', product: NUL, meter: 'api_calls' })).toThrow(/product/);
    await gate.flush();
    expect(emu.callCount('usage.record')).toBe(0);
    expect(gate.stats().usagePending).toBe(0);
  });

  it('checkEntitlement and checkTier keep refusing it', async () => {
    await using env = await rulesEnv();
    const { gate } = env;
    await expect(gate.checkEntitlement('acme', { product: NUL, entitlement: 'api_access' })).rejects.toThrow(/"product"/);
    await expect(gate.checkTier('acme', { tiers: 'p\u0000ro' })).rejects.toThrow(/"tiers"/);
  });
});

describe('a quantity is a positive safe integer', () => {
  it('debitCredits, chargeCredits, meterUsage and recordUsage agree on 2^53', async () => {
    await using env = await rulesEnv();
    const { emu, gate } = env;
    const big = 2 ** 53;
    await expect(gate.debitCredits({ accountRefId: 'buyer', product: 'ai-images', meter: 'credits', quantity: big })).rejects.toThrow(/quantity/);
    const e = expressGate(gate, { accountRefId: () => 'buyer' });
    expect(() => e.chargeCredits({ product: 'ai-images', meter: 'credits', quantity: big })).toThrow(/quantity/);
    expect(() => e.meterUsage({ product: 'api-access', meter: 'api_calls', quantity: big })).toThrow(/quantity/);
    expect(() => gate.recordUsage({ accountRefId: 'user', product: 'api-access', meter: 'api_calls', quantity: big })).toThrow(/quantity/);
    expect(emu.callCount('credits.debit') + emu.callCount('usage.record')).toBe(0);
  });
});

describe("ecom9's own 404, one rule for the gate and the usage sender", () => {
  it("a usage event answered by a 404 in ecom9's words is refused for good, not blamed on the configuration", async () => {
    await using env = await rulesEnv();
    const { emu, gate, reported } = env;
    emu.inject({ endpoint: 'usage.record', kind: 'status', status: 404, body: { error: 'Product not found' }, times: 1 });
    gate.recordUsage({ accountRefId: 'user', product: 'api-access', meter: 'api_calls', eventKey: 'own-404' });
    await gate.flush();
    expect(emu.callCount('usage.record')).toBe(1);
    expect(reported).toHaveLength(1);
    expect(reported[0]).toBeInstanceOf(UsageDeliveryError);
    expect((reported[0] as Error).message).toMatch(/ecom9 rejected the event/);
  });

  it('a 404 without that body is the baseUrl: reported as configuration, for usage as for checks', async () => {
    await using env = await rulesEnv();
    const { emu, gate, reported } = env;
    emu.inject({ endpoint: 'usage.record', kind: 'status', status: 404, body: null, times: 1 });
    gate.recordUsage({ accountRefId: 'user', product: 'api-access', meter: 'api_calls', eventKey: 'foreign-404' });
    await gate.flush();
    // The event's own report (the configuration is also said once, as it starts, by the upstream watch).
    expect((reported.find((e) => e instanceof UsageDeliveryError) as Error).message).toMatch(/check apiKey and baseUrl/);
    expect(reported.filter((e) => e instanceof MisconfigurationError)).toHaveLength(1);
    emu.inject({ endpoint: 'accounts.status', kind: 'status', status: 404, body: null, times: 1 });
    expect(await gate.checkTier('acme', { tiers: 'pro' })).toMatchObject({ code: 'misconfigured', status: 500 });
  });
});
