// Prepaid credit debits through the gate: approved, short, misconfigured, idempotent, and ecom9 down.
import { describe, expect, it } from 'vitest';
import { gateFor } from './support/env';
import { gateEnv } from './support/gate-env';

/** A buyer with 12 credits, on an emulator and a gate of the test's own (closed when the test ends). */
async function buyer() {
  const env = await gateEnv();
  env.emu.setAccount('buyer', { customerEmail: 'b@example.com' });
  env.emu.setCredits('buyer', 'ai-images', 'credits', 12);
  env.emu.resetCalls();
  return env;
}

describe('debitCredits', () => {
  it('debits and reports the remaining balance', async () => {
    await using env = await buyer();
    const { emu, gate } = env;
    const d = await gate.debitCredits({ accountRefId: 'buyer', product: 'ai-images', meter: 'credits', quantity: 5, eventKey: 'k1' });
    expect(d).toMatchObject({ allowed: true, debited: 5, remainingBalance: 7, eventKey: 'k1', source: 'upstream' });
    expect(emu.credits('buyer', 'ai-images', 'credits')).toBe(7);
  });

  it('denies with 402 insufficient_credits and the balance when short', async () => {
    await using env = await buyer();
    const { emu, gate } = env;
    const d = await gate.debitCredits({ accountRefId: 'buyer', product: 'ai-images', meter: 'credits', quantity: 50 });
    expect(d).toMatchObject({ allowed: false, code: 'insufficient_credits', status: 402, remainingBalance: 12, requested: 50, debited: 0 });
    expect(emu.credits('buyer', 'ai-images', 'credits')).toBe(12);
  });

  it('charges a repeated eventKey once', async () => {
    await using env = await buyer();
    const { emu, gate } = env;
    const a = await gate.debitCredits({ accountRefId: 'buyer', product: 'ai-images', meter: 'credits', quantity: 5, eventKey: 'same' });
    const b = await gate.debitCredits({ accountRefId: 'buyer', product: 'ai-images', meter: 'credits', quantity: 5, eventKey: 'same' });
    expect(a.allowed && b.allowed).toBe(true);
    expect(emu.credits('buyer', 'ai-images', 'credits')).toBe(7);
  });

  it('is never cached: every debit reaches ecom9', async () => {
    await using env = await buyer();
    const { emu, gate } = env;
    await gate.debitCredits({ accountRefId: 'buyer', product: 'ai-images', meter: 'credits', quantity: 1 });
    await gate.debitCredits({ accountRefId: 'buyer', product: 'ai-images', meter: 'credits', quantity: 1 });
    expect(emu.callCount('credits.debit', 'buyer')).toBe(2);
    expect(emu.credits('buyer', 'ai-images', 'credits')).toBe(10);
  });

  it('turns invalid_usage_model into a 500 reported once', async () => {
    await using env = await buyer();
    const { gate, reported } = env;
    for (let i = 0; i < 3; i++) {
      const d = await gate.debitCredits({ accountRefId: 'buyer', product: 'api-access', meter: 'api_calls', quantity: 1 });
      expect(d).toMatchObject({ allowed: false, code: 'misconfigured', status: 500 });
    }
    expect(reported).toHaveLength(1);
    expect(String((reported[0] as Error).message)).toMatch(/invalid_usage_model/);
  });

  it('retries a debit whose response was lost with the same key and charges once', async () => {
    await using env = await buyer();
    const { emu, gate } = env;
    emu.inject({ endpoint: 'credits.debit', kind: 'drop', dropAfterProcessing: true, times: 1 });
    const d = await gate.debitCredits({ accountRefId: 'buyer', product: 'ai-images', meter: 'credits', quantity: 4 });
    expect(d).toMatchObject({ allowed: true, debited: 4, remainingBalance: 8 });
    expect(emu.callCount('credits.debit', 'buyer')).toBe(2);
    expect(emu.credits('buyer', 'ai-images', 'credits')).toBe(8);
  });

  it('fails closed with 503 when ecom9 is down, even on a fail-open gate, unless the call opts in', async () => {
    await using env = await buyer();
    const { emu } = env;
    const open = gateFor(emu, { failMode: 'open' });
    emu.inject({ endpoint: 'credits.debit', kind: 'status', status: 503 });
    const d = await open.debitCredits({ accountRefId: 'buyer', product: 'ai-images', meter: 'credits', quantity: 1 });
    expect(d).toMatchObject({ allowed: false, code: 'upstream_unavailable', status: 503, debited: 0 });
    const o = await open.debitCredits({ accountRefId: 'buyer', product: 'ai-images', meter: 'credits', quantity: 1, failMode: 'open' });
    expect(o).toMatchObject({ allowed: true, source: 'fallback' });
    expect(emu.credits('buyer', 'ai-images', 'credits')).toBe(12);
  });

  it("answers a 404 without ecom9's error body with a 500 reported once, not as an empty balance", async () => {
    await using env = await buyer();
    const { emu, gate, reported } = env;
    emu.inject({ endpoint: 'credits.debit', kind: 'status', status: 404, body: { detail: 'Not found.' }, times: 2 });
    for (let i = 0; i < 2; i++) {
      const d = await gate.debitCredits({ accountRefId: 'buyer', product: 'ai-images', meter: 'credits', quantity: 1, failMode: 'open' });
      expect(d).toMatchObject({ allowed: false, code: 'misconfigured', status: 500, debited: 0 });
    }
    expect(reported).toHaveLength(1);
    // ecom9's own 404 (an unknown account) is still a business answer.
    const ghost = await gate.debitCredits({ accountRefId: 'ghost', product: 'ai-images', meter: 'credits', quantity: 1 });
    expect(ghost).toMatchObject({ code: 'insufficient_credits', status: 402, remainingBalance: 0 });
  });

  it('refuses a bad quantity with an error that names it', async () => {
    await using env = await buyer();
    const { emu, gate } = env;
    await expect(gate.debitCredits({ accountRefId: 'buyer', product: 'ai-images', meter: 'credits', quantity: 1.5 })).rejects.toThrow(/quantity/);
    expect(emu.calls.length).toBe(0);
  });
});
