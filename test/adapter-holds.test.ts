// reserveCredits on every adapter (Express, Koa, Fastify, fetch, Hono, and Nest on both platforms),
// over real HTTP against the emulator: a hold is granted or refused with the same 402 as chargeCredits,
// the handler's use is charged in one debit once the response is finished, nothing for nothing, once
// however often it is settled, and once when ecom9 fails the first debit.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Emulator } from 'ecom9-gate/emulator';
import type { Gate } from 'ecom9-gate';
import { gateFor, startEmulator } from './support/env';
import { FRAMEWORKS, seedScenario, startApp, testFixtures } from './support/apps';
import { PLATFORMS, startNestApp } from './support/nest-app';

let emu: Emulator;
let start = 0;
beforeAll(async () => {
  emu = await startEmulator({ fixtures: testFixtures() });
});
afterAll(async () => {
  await emu.close();
});

/** Approved debits of pro-co's ai-images credits since the test began. */
const debits = () => emu.debits('pro-co', 'ai-images', 'credits').filter((r) => emu.ledger.indexOf(r) >= start);

const APPS = [
  ...FRAMEWORKS.map((fw) => [fw, (gate: Gate) => startApp(fw, gate)] as const),
  ...PLATFORMS.map((p) => [`nest on ${p}`, (gate: Gate) => startNestApp(p, gate)] as const),
];

describe.each(APPS)('reserveCredits on %s', (name, startIt) => {
  let gate: Gate;
  let app: { url: string; close(): Promise<void> };
  let reported: unknown[];
  const answer = (headers: Record<string, string> = {}, account = 'pro-co') =>
    fetch(`${app.url}/answer`, { method: 'POST', headers: { 'x-account': account, ...headers } });

  beforeAll(async () => {
    reported = [];
    gate = gateFor(emu, { onError: (e) => reported.push(e) });
    app = await startIt(gate);
  });
  afterAll(async () => {
    await app.close();
    await gate.close();
  });
  beforeEach(() => {
    seedScenario(emu);
    start = emu.ledger.length;
    reported.length = 0;
    gate.invalidate('pro-co');
  });

  it('grants a hold and charges what the handler used, in one debit, once the response is finished', async () => {
    const res = await answer({ 'x-used': '3' });
    expect(res.status).toBeLessThan(300);
    expect(await res.json()).toEqual({ reserved: 10, used: 3 });
    await gate.flush();
    expect(debits().map((r) => r.quantity)).toEqual([3]);
    expect(emu.credits('pro-co', 'ai-images', 'credits')).toBe(9);
    expect(gate.openHolds('pro-co')).toEqual([]);
  });

  it('denies with the same 402 as chargeCredits when the balance less open holds is short', async () => {
    emu.setCredits('pro-co', 'ai-images', 'credits', 9);
    const res = await answer();
    expect(res.status).toBe(402);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
    expect(await res.json()).toMatchObject({
      code: 'insufficient_credits',
      remaining_balance: 9,
      requested: 10,
      top_up_url: 'https://billing.example.com/top-up',
    });
    expect(emu.callCount('credits.debit')).toBe(0);
  });

  it('charges nothing for a hold that used nothing', async () => {
    expect((await answer()).status).toBeLessThan(300);
    await gate.flush();
    expect(emu.callCount('credits.debit')).toBe(0);
    expect(gate.openHolds()).toEqual([]);
  });

  it('settled by the handler and again by the adapter: one debit', async () => {
    expect(await (await answer({ 'x-used': '4', 'x-settle': '1' })).json()).toEqual({ reserved: 10, used: 4 });
    await gate.flush();
    expect(emu.callCount('credits.debit')).toBe(1);
    expect(debits().map((r) => r.quantity)).toEqual([4]);
  });

  it('ecom9 failing the first debit: charged once', async () => {
    emu.inject({ endpoint: 'credits.debit', kind: 'status', status: 503, times: 1 });
    expect((await answer({ 'x-used': '6' })).status).toBeLessThan(300);
    await gate.flush();
    expect(emu.callCount('credits.debit')).toBe(2);
    expect(debits().map((r) => r.quantity)).toEqual([6]);
    expect(emu.credits('pro-co', 'ai-images', 'credits')).toBe(6);
  });

  it('a retry with the same Idempotency-Key is charged once', async () => {
    const key = { 'idempotency-key': `answer-retry-${name}`, 'x-used': '5' };
    expect((await answer(key)).status).toBeLessThan(300);
    await gate.flush();
    expect((await answer(key)).status).toBeLessThan(300);
    await gate.flush();
    expect(debits().map((r) => r.quantity)).toEqual([5]);
    expect(emu.credits('pro-co', 'ai-images', 'credits')).toBe(7);
  });
});

describe('reserveCredits when the client leaves mid-response', () => {
  it('charges what was used before the client left, once', async () => {
    const { default: express } = await import('express');
    const { expressGate } = await import('ecom9-gate/express');
    seedScenario(emu);
    start = emu.ledger.length;
    const gate = gateFor(emu);
    const e = expressGate(gate, { accountRefId: (req) => req.get('x-account') });
    const app = express();
    let closed!: () => void;
    const gone = new Promise<void>((r) => (closed = r));
    app.post('/stream', e.reserveCredits({ product: 'ai-images', meter: 'credits', quantity: 10 }), (req, res) => {
      req.ecom9.hold?.use(3);
      res.once('close', () => closed());
      res.write('partial answer');
    });
    const server = app.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    try {
      const ac = new AbortController();
      const res = await fetch(`http://127.0.0.1:${(server.address() as { port: number }).port}/stream`, {
        method: 'POST',
        headers: { 'x-account': 'pro-co' },
        signal: ac.signal,
      });
      const reader = res.body?.getReader();
      await reader?.read();
      ac.abort();
      await gone;
      await gate.flush();
      expect(debits().map((r) => r.quantity)).toEqual([3]);
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
      await gate.close();
    }
    expect(debits()).toHaveLength(1);
  });
});
