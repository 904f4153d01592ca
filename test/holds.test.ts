// Holds (gate.reserveCredits) against the emulator: grant and deny on the balance less open holds, one
// debit of what was used however settle is called or ecom9 fails, expiry on an injected clock, and
// the balance view's upstream cost and corrections.
import { describe, expect, it } from 'vitest';
import type { Emulator } from 'ecom9-gate/emulator';
import diagnostics from 'node:diagnostics_channel';
import { ArgumentError, CHANNELS, HoldClosedError, type GateOptions } from 'ecom9-gate';
import { manualClock } from './support/env';
import { gateEnv } from './support/gate-env';

const P = { product: 'ai-images', meter: 'credits' } as const;
const debitsOf = (emu: Emulator, ref: string) => emu.ledger.filter((r) => r.accountRefId === ref && r.approved);

/** The test's own emulator, where holder has 100 credits and nothing was called yet, and a gate on it. */
async function holdsEnv(opts: GateOptions = {}) {
  const env = await gateEnv({ gate: opts });
  env.emu.setAccount('holder', { customerEmail: 'h@example.com' });
  env.emu.setCredits('holder', 'ai-images', 'credits', 100);
  env.emu.resetCalls();
  return env;
}

describe('reserveCredits', () => {
  it('grants a hold and settles what was used in one debit', async () => {
    await using env = await holdsEnv();
    const { emu, gate } = env;
    const { decision, hold } = await gate.reserveCredits('holder', { ...P, quantity: 40 });
    expect(decision).toMatchObject({ allowed: true, remainingBalance: 100, requested: 40 });
    hold?.use(7);
    hold?.use(5);
    expect(hold?.used).toBe(12);
    const s = await hold?.settle();
    expect(s).toMatchObject({ debited: 12, remainingBalance: 88 });
    expect(hold?.settled).toBe(true);
    expect(debitsOf(emu, 'holder').map((r) => [r.quantity, r.eventKey])).toEqual([[12, s?.eventKey]]);
    expect(emu.credits('holder', 'ai-images', 'credits')).toBe(88);
    expect(gate.openHolds('holder')).toEqual([]);
  });

  it('debits nothing for a hold that used nothing, and nothing after release()', async () => {
    await using env = await holdsEnv();
    const { emu, gate } = env;
    const a = (await gate.reserveCredits('holder', { ...P, quantity: 10 })).hold;
    expect(await a?.settle()).toMatchObject({ debited: 0 });
    const b = (await gate.reserveCredits('holder', { ...P, quantity: 10 })).hold;
    b?.use(4);
    await b?.release();
    expect(await b?.settle()).toMatchObject({ debited: 0 });
    expect(emu.callCount('credits.debit')).toBe(0);
    expect(gate.openHolds()).toEqual([]);
  });

  it('settles once however often settle() is called, even concurrently', async () => {
    await using env = await holdsEnv();
    const { emu, gate } = env;
    const { hold } = await gate.reserveCredits('holder', { ...P, quantity: 30 });
    hold?.use(9);
    const all = await Promise.all([hold?.settle(), hold?.settle(), hold?.settle(3)]);
    await hold?.settle();
    expect(all.map((s) => s?.debited)).toEqual([9, 9, 9]);
    expect(emu.callCount('credits.debit')).toBe(1);
    expect(emu.credits('holder', 'ai-images', 'credits')).toBe(91);
  });

  it('charges once when ecom9 fails the first debit, or applies it and loses the answer', async () => {
    await using env = await holdsEnv();
    const { emu, gate } = env;
    emu.inject({ endpoint: 'credits.debit', kind: 'status', status: 503, times: 1 });
    const a = (await gate.reserveCredits('holder', { ...P, quantity: 30 })).hold;
    a?.use(10);
    expect(await a?.settle()).toMatchObject({ debited: 10 });
    emu.inject({ endpoint: 'credits.debit', kind: 'drop', dropAfterProcessing: true, times: 1 });
    const b = (await gate.reserveCredits('holder', { ...P, quantity: 30 })).hold;
    b?.use(20);
    expect(await b?.settle()).toMatchObject({ debited: 20 });
    expect(emu.callCount('credits.debit')).toBe(4);
    expect(debitsOf(emu, 'holder').map((r) => r.quantity)).toEqual([10, 20]);
    expect(emu.credits('holder', 'ai-images', 'credits')).toBe(70);
  });

  it('a settle that cannot reach ecom9 rejects, is reported, and a second settle charges once', async () => {
    await using env = await holdsEnv();
    const { emu, gate, reported } = env;
    const { hold } = await gate.reserveCredits('holder', { ...P, quantity: 30 });
    hold?.use(6);
    emu.inject({ endpoint: 'credits.debit', kind: 'drop', dropAfterProcessing: true, times: 2 });
    await expect(hold?.settle()).rejects.toMatchObject({ code: 'hold_not_charged', journaled: false });
    expect(() => hold?.use(1)).toThrow(HoldClosedError);
    // Once, as the hold's failure (the dropped connection is also reported once, as ecom9 unreachable).
    expect(reported.filter((e) => (e as { code?: string }).code === 'hold_not_charged')).toHaveLength(1);
    expect(await hold?.settle()).toMatchObject({ debited: 6 });
    expect(debitsOf(emu, 'holder').map((r) => r.quantity)).toEqual([6]);
  });

  it('never over-commits: 8 concurrent holds of 30 on 100 grant 3', async () => {
    await using env = await holdsEnv();
    const { emu, gate } = env;
    const all = await Promise.all(Array.from({ length: 8 }, () => gate.reserveCredits('holder', { ...P, quantity: 30 })));
    const granted = all.filter((r) => r.hold);
    expect(granted).toHaveLength(3);
    const denied = all.find((r) => !r.hold)?.decision;
    expect(denied).toMatchObject({ allowed: false, code: 'insufficient_credits', status: 402, remainingBalance: 100, requested: 30 });
    expect(denied?.detail).toContain('90 is held');
    expect(emu.callCount('credits.balance')).toBe(1);
    // One settles for 10: 90 left, 60 still held, so one more hold of 30 fits and a second does not.
    granted[0]?.hold?.use(10);
    await granted[0]?.hold?.settle();
    expect((await gate.reserveCredits('holder', { ...P, quantity: 30 })).hold).toBeDefined();
    expect((await gate.reserveCredits('holder', { ...P, quantity: 30 })).hold).toBeUndefined();
  });

  it('denies with the 402 and the top-up link when the balance is short', async () => {
    await using env = await holdsEnv();
    const { emu, gate } = env;
    emu.setCredits('holder', 'ai-images', 'credits', 5);
    const { decision, hold } = await gate.reserveCredits('holder', { ...P, quantity: 6, topUpUrl: 'https://example.com/top-up' });
    expect(hold).toBeUndefined();
    expect(decision).toMatchObject({ code: 'insufficient_credits', status: 402, remainingBalance: 5, topUpUrl: 'https://example.com/top-up' });
  });

  it('a warm account pays one upstream call per hold: the debit', async () => {
    await using env = await holdsEnv();
    const { emu, gate } = env;
    await (await gate.reserveCredits('holder', { ...P, quantity: 5 })).hold?.settle(1);
    emu.resetCalls();
    for (let i = 0; i < 10; i++) {
      const { hold } = await gate.reserveCredits('holder', { ...P, quantity: 5 });
      hold?.use(1);
      await hold?.settle();
    }
    expect(emu.callCount()).toBe(10);
    expect(emu.callCount('credits.debit')).toBe(10);
    expect(emu.credits('holder', 'ai-images', 'credits')).toBe(89);
  });

  it('the same key returns the open hold, and after settling is never charged twice', async () => {
    await using env = await holdsEnv();
    const { emu, gate } = env;
    // Two at once (a retry racing the first) and one after: one hold, counted once.
    const [a, a2] = (await Promise.all([1, 2].map(() => gate.reserveCredits('holder', { ...P, quantity: 20, key: 'req_1' })))).map((r) => r.hold);
    const b = (await gate.reserveCredits('holder', { ...P, quantity: 20, key: 'req_1' })).hold;
    expect(a2).toBe(a);
    expect(b).toBe(a);
    expect((await gate.reserveCredits('holder', { ...P, quantity: 80 })).hold).toBeDefined();
    a?.use(8);
    await a?.settle();
    const again = (await gate.reserveCredits('holder', { ...P, quantity: 20, key: 'req_1' })).hold;
    again?.use(8);
    expect(await again?.settle()).toMatchObject({ debited: 8 });
    expect(debitsOf(emu, 'holder')).toHaveLength(1);
    expect(emu.credits('holder', 'ai-images', 'credits')).toBe(92);
    await gate.close();
  });

  it('refuses bad arguments with ArgumentError and caps use at what was reserved', async () => {
    await using env = await holdsEnv();
    const { gate } = env;
    await expect(gate.reserveCredits('holder', { ...P, quantity: 0 })).rejects.toThrow(ArgumentError);
    await expect(gate.reserveCredits('holder', { ...P, quantity: 1.5 })).rejects.toThrow(ArgumentError);
    const { hold } = await gate.reserveCredits('holder', { ...P, quantity: 10 });
    for (const bad of [0, -1, 2.5, Number.NaN, '3' as unknown as number]) expect(() => hold?.use(bad)).toThrow(ArgumentError);
    hold?.use(8);
    hold?.use(8);
    expect(hold?.used).toBe(10);
    await expect(hold?.settle(-1)).rejects.toThrow(ArgumentError);
    expect(await hold?.settle()).toMatchObject({ debited: 10 });
    expect(() => hold?.use(1)).toThrow(HoldClosedError);
  });

  it("publishes each reservation's decision on the decision channel (kind 'hold')", async () => {
    await using env = await holdsEnv();
    const { gate } = env;
    const seen: Array<{ kind: string; code: string }> = [];
    const listen = (m: unknown) => {
      const e = m as { gate: unknown; kind: string; decision: { code: string } };
      if (e.gate === gate) seen.push({ kind: e.kind, code: e.decision.code });
    };
    diagnostics.subscribe(CHANNELS.decision, listen);
    try {
      await gate.reserveCredits('holder', { ...P, quantity: 10 });
      await gate.reserveCredits('holder', { ...P, quantity: 1_000 });
    } finally {
      diagnostics.unsubscribe(CHANNELS.decision, listen);
    }
    expect(seen).toEqual([
      { kind: 'hold', code: 'allowed' },
      { kind: 'hold', code: 'insufficient_credits' },
    ]);
  });

  it('an unresolvable account is 401 before anything reaches ecom9', async () => {
    await using env = await holdsEnv();
    const { emu, gate } = env;
    const { decision } = await gate.reserveCredits('..', { ...P, quantity: 1 });
    expect(decision).toMatchObject({ code: 'account_unresolved', status: 401 });
    expect(emu.callCount()).toBe(0);
  });

  it('ecom9 down for the balance: 503 by default, an uncounted hold with failMode open', async () => {
    await using env = await holdsEnv();
    const { emu, gate } = env;
    emu.inject({ endpoint: 'credits.balance', kind: 'status', status: 503 });
    expect((await gate.reserveCredits('holder', { ...P, quantity: 10 })).decision).toMatchObject({ code: 'upstream_unavailable', status: 503 });
    const open = await gate.reserveCredits('holder', { ...P, quantity: 10, failMode: 'open' });
    expect(open.decision).toMatchObject({ allowed: true, source: 'fallback' });
    open.hold?.use(3);
    expect(await open.hold?.settle()).toMatchObject({ debited: 3 });
  });
});

describe('hold expiry (credits.holdTtlMs)', () => {
  it('closes a hold left open: what it used is charged once, the rest given back', async () => {
    const clock = manualClock();
    await using env = await holdsEnv({ now: clock.now, credits: { holdTtlMs: 60_000 } });
    const { emu, gate } = env;
    const used = (await gate.reserveCredits('holder', { ...P, quantity: 50 })).hold;
    const idle = (await gate.reserveCredits('holder', { ...P, quantity: 50 })).hold;
    used?.use(7);
    expect((await gate.reserveCredits('holder', { ...P, quantity: 10 })).hold).toBeUndefined();
    clock.advance(60_000);
    // Any look at the holds sweeps: both close, the used one charging its 7 (settle() gets that debit).
    expect(gate.openHolds('holder')).toEqual([]);
    expect(used?.settled || idle?.settled).toBe(true);
    expect(await used?.settle()).toMatchObject({ debited: 7 });
    expect(() => used?.use(1)).toThrow(HoldClosedError);
    expect((await gate.reserveCredits('holder', { ...P, quantity: 93 })).hold).toBeDefined();
    await gate.close();
    expect(debitsOf(emu, 'holder').map((r) => r.quantity)).toEqual([7]);
    expect(gate.stats().holdsExpired).toBe(2);
  });
});

describe('the balance view', () => {
  it('is corrected by chargeCredits debits, and a webhook (invalidate) makes the next hold ask ecom9', async () => {
    await using env = await holdsEnv();
    const { emu, gate } = env;
    await gate.reserveCredits('holder', { ...P, quantity: 1 }).then((r) => r.hold?.release());
    await gate.debitCredits({ accountRefId: 'holder', ...P, quantity: 95 });
    // The view knows 5 are left without asking again.
    expect((await gate.reserveCredits('holder', { ...P, quantity: 6 })).hold).toBeUndefined();
    expect(emu.callCount('credits.balance')).toBe(1);
    emu.setCredits('holder', 'ai-images', 'credits', 50);
    gate.invalidate('holder');
    expect((await gate.reserveCredits('holder', { ...P, quantity: 40 })).hold).toBeDefined();
    expect(emu.callCount('credits.balance')).toBe(2);
  });

  it('spending it did not see is corrected by the next debit, and a stale denial asks ecom9 again', async () => {
    const clock = manualClock();
    await using env = await holdsEnv({ now: clock.now });
    const { emu, gate } = env;
    await gate.reserveCredits('holder', { ...P, quantity: 1 }).then((r) => r.hold?.release());
    // Spent elsewhere (another service, the dashboard): the view still says 100 until a debit answers.
    emu.setCredits('holder', 'ai-images', 'credits', 40);
    const h = (await gate.reserveCredits('holder', { ...P, quantity: 60 })).hold;
    h?.use(10);
    expect(await h?.settle()).toMatchObject({ debited: 10, remainingBalance: 30 });
    expect((await gate.reserveCredits('holder', { ...P, quantity: 31 })).hold).toBeUndefined();
    // Topped up with no webhook: a denial on a view older than a second asks ecom9 before refusing.
    emu.setCredits('holder', 'ai-images', 'credits', 80);
    clock.advance(1_500);
    expect((await gate.reserveCredits('holder', { ...P, quantity: 31 })).hold).toBeDefined();
  });
});

describe('the testing kit and the emulator read holds and debits', () => {
  it('t.openHolds lists what is open, t.debits what ecom9 debited once settled', async () => {
    const { createTestGate } = await import('ecom9-gate/testing');
    const t = await createTestGate();
    try {
      await t.setCredits('acme', 'ai-images', 'credits', 50);
      const { hold } = await t.gate.reserveCredits('acme', { ...P, quantity: 20, key: 'answer-1' });
      hold?.use(6);
      expect(t.openHolds('acme')).toMatchObject([{ accountRefId: 'acme', key: 'answer-1', reserved: 20, used: 6 }]);
      void hold?.settle();
      expect((await t.debits('acme', 'ai-images', 'credits')).map((r) => r.quantity)).toEqual([6]);
      expect(t.openHolds()).toEqual([]);
      expect(t.emulator.debits('acme')).toHaveLength(1);
    } finally {
      await t.close();
    }
  });
});
