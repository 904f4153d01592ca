// reserveCredits on every adapter (Express, Koa, Fastify, fetch, Hono, and Nest on both platforms),
// over real HTTP against the emulator: a hold is granted or refused with the same 402 as chargeCredits,
// the handler's use is charged in one debit once the response is finished, nothing for nothing, once
// however often it is settled, and once when ecom9 fails the first debit.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Emulator } from 'ecom9-gate/emulator';
import type { Gate } from 'ecom9-gate';
import { gateEnv, sharedGateEnv } from './support/gate-env';
import { FRAMEWORKS, seedScenario, startApp, testFixtures } from './support/apps';
import { PLATFORMS, startNestApp } from './support/nest-app';

let start = 0;

/** Approved debits of pro-co's ai-images credits since the test began. */
const debits = (emu: Emulator) => emu.debits('pro-co', 'ai-images', 'credits').filter((r) => emu.ledger.indexOf(r) >= start);

const APPS = [
  ...FRAMEWORKS.map((fw) => [fw, (gate: Gate) => startApp(fw, gate)] as const),
  ...PLATFORMS.map((p) => [`nest on ${p}`, (gate: Gate) => startNestApp(p, gate)] as const),
];

describe.each(APPS)('reserveCredits on %s', (name, startIt) => {
  const env = sharedGateEnv({ emulator: { fixtures: testFixtures() } });
  let app: { url: string; close(): Promise<void> };
  const answer = (headers: Record<string, string> = {}, account = 'pro-co') =>
    fetch(`${app.url}/answer`, { method: 'POST', headers: { 'x-account': account, ...headers } });

  beforeAll(async () => {
    app = await startIt(env.gate);
  });
  afterAll(async () => {
    await app.close();
  });
  beforeEach(() => {
    seedScenario(env.emu);
    start = env.emu.ledger.length;
    env.gate.invalidate('pro-co');
    env.reported.length = 0;
  });
  // Nothing here is an error the app should hear of: a 503 on the first debit is the client's retry.
  afterEach(() => {
    expect(env.reported).toEqual([]);
  });

  it('grants a hold and charges what the handler used, in one debit, once the response is finished', async () => {
    const res = await answer({ 'x-used': '3' });
    expect(res.status).toBeLessThan(300);
    expect(await res.json()).toEqual({ reserved: 10, used: 3 });
    await env.gate.flush();
    expect(debits(env.emu).map((r) => r.quantity)).toEqual([3]);
    expect(env.emu.credits('pro-co', 'ai-images', 'credits')).toBe(9);
    expect(env.gate.openHolds('pro-co')).toEqual([]);
  });

  it('denies with the same 402 as chargeCredits when the balance less open holds is short', async () => {
    env.emu.setCredits('pro-co', 'ai-images', 'credits', 9);
    const res = await answer();
    expect(res.status).toBe(402);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
    expect(await res.json()).toMatchObject({
      code: 'insufficient_credits',
      remaining_balance: 9,
      requested: 10,
      top_up_url: 'https://billing.example.com/top-up',
    });
    expect(env.emu.callCount('credits.debit')).toBe(0);
  });

  it('charges nothing for a hold that used nothing', async () => {
    expect((await answer()).status).toBeLessThan(300);
    await env.gate.flush();
    expect(env.emu.callCount('credits.debit')).toBe(0);
    expect(env.gate.openHolds()).toEqual([]);
  });

  it('settled by the handler and again by the adapter: one debit', async () => {
    expect(await (await answer({ 'x-used': '4', 'x-settle': '1' })).json()).toEqual({ reserved: 10, used: 4 });
    await env.gate.flush();
    expect(env.emu.callCount('credits.debit')).toBe(1);
    expect(debits(env.emu).map((r) => r.quantity)).toEqual([4]);
  });

  it('ecom9 failing the first debit: charged once', async () => {
    env.emu.inject({ endpoint: 'credits.debit', kind: 'status', status: 503, times: 1 });
    expect((await answer({ 'x-used': '6' })).status).toBeLessThan(300);
    await env.gate.flush();
    expect(env.emu.callCount('credits.debit')).toBe(2);
    expect(debits(env.emu).map((r) => r.quantity)).toEqual([6]);
    expect(env.emu.credits('pro-co', 'ai-images', 'credits')).toBe(6);
  });

  it('a retry with the same Idempotency-Key is charged once: the first response replayed, the route not run again', async () => {
    const key = { 'idempotency-key': `answer-retry-${name}`, 'x-used': '5' };
    const first = await answer(key);
    expect(first.status).toBeLessThan(300);
    const firstBody = await first.text();
    await env.gate.flush();
    // The retry asks for more: a route run again would charge 6 more.
    const again = await answer({ ...key, 'x-used': '6' });
    expect(again.status).toBe(first.status);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(await again.text()).toBe(firstBody);
    await env.gate.flush();
    expect(debits(env.emu).map((r) => r.quantity)).toEqual([5]);
    expect(env.emu.credits('pro-co', 'ai-images', 'credits')).toBe(7);
  });
});

describe('reserveCredits when the client leaves mid-response', () => {
  it('charges what was used before the client left, once', async () => {
    const { default: express } = await import('express');
    const { expressGate } = await import('ecom9-gate/express');
    await using env = await gateEnv({ emulator: { fixtures: testFixtures() } });
    const { emu, gate } = env;
    seedScenario(emu);
    start = emu.ledger.length;
    const e = expressGate(gate, { accountRefId: (req) => req.get('x-account') });
    const app = express();
    let closed!: () => void;
    const gone = new Promise<void>((r) => (closed = r));
    app.post('/stream', e.reserveCredits({ product: 'ai-images', meter: 'credits', quantity: 10 }), (req, res) => {
      e.gated(req).hold?.use(3);
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
      expect(debits(emu).map((r) => r.quantity)).toEqual([3]);
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
      await gate.close();
    }
    expect(debits(emu)).toHaveLength(1);
  });
});
