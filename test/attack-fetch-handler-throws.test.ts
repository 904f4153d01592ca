// Attack: fetch on @hono/node-server, a reserveCredits route whose handler used credits on its hold
// and then threw (or returned a rejected promise): the response-finished hook was only registered on
// the Response the handler returned, so none was, and what the handler used was never charged. On
// every other adapter (Hono on the same server included) the hook is on before the handler runs and
// the use is charged once the error answer is finished.
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createAdaptorServer } from '@hono/node-server';
import { Hono } from 'hono';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { fetchGate } from 'ecom9-gate/fetch';
import { honoGate } from 'ecom9-gate/hono';
import type { Gate } from 'ecom9-gate';
import type { Emulator } from 'ecom9-gate/emulator';
import { sharedGateEnv } from './support/gate-env';
import { seedScenario, testFixtures } from './support/apps';
import { answer } from './support/web-apps';

/** The account's ai-images debits since `start` come to `quantities`: waited for, then checked again after a flush (never twice). */
async function expectDebited(env: { emu: Emulator; gate: Gate }, account: string, start: number, quantities: number[]): Promise<void> {
  const debited = () =>
    env.emu
      .debits(account, 'ai-images', 'credits')
      .filter((r) => env.emu.ledger.indexOf(r) >= start)
      .map((r) => r.quantity);
  await vi.waitFor(() => expect(debited()).toEqual(quantities), { timeout: 5000 });
  await env.gate.flush();
  expect(debited()).toEqual(quantities);
}

describe.each(['fetch', 'hono'] as const)('%s on @hono/node-server: a handler that throws after using its hold', (name) => {
  const env = sharedGateEnv({ emulator: { fixtures: testFixtures() } });
  let server: Server;
  let url = '';
  let start = 0;
  beforeAll(async () => {
    let app: (req: Request, ...rest: never[]) => Response | Promise<Response>;
    if (name === 'fetch') {
      const f = fetchGate(env.gate, { accountRefId: (req) => (req.headers.get('x-sync') ? 'free-co' : 'pro-co') });
      const guarded = f.reserveCredits(answer)((req) => {
        f.state(req)?.hold?.use(4);
        if (req.headers.get('x-sync')) throw new Error('handler failed');
        return Promise.reject(new Error('handler failed'));
      });
      app = async (req, ...rest: unknown[]) => {
        try {
          return await guarded(req, ...(rest as []));
        } catch {
          return Response.json({ error: 'app' }, { status: 500 });
        }
      };
    } else {
      const h = honoGate(env.gate, { accountRefId: (c) => (c.req.header('x-sync') ? 'free-co' : 'pro-co') });
      const hono = new Hono();
      hono.onError((_e, c) => c.json({ error: 'app' }, 500));
      hono.post('/answer', h.reserveCredits(answer), (c) => {
        c.get('ecom9').hold?.use(4);
        throw new Error('handler failed');
      });
      app = hono.fetch;
    }
    server = createAdaptorServer({ fetch: app as never }) as Server;
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/answer`;
  });
  afterAll(async () => {
    await new Promise((r) => server.close(r));
  });
  beforeEach(() => {
    seedScenario(env.emu);
    start = env.emu.ledger.length;
  });

  it.each(['async', 'sync'])('what it used is charged once the 500 is finished (%s)', async (mode) => {
    const res = await fetch(url, { method: 'POST', headers: mode === 'sync' ? { 'x-sync': '1' } : {} });
    expect(res.status).toBe(500);
    await expectDebited(env, mode === 'sync' ? 'free-co' : 'pro-co', start, [4]);
  });
});

describe('fetch off Node (a Worker: no Node response): a handler that rejects after using its hold', () => {
  const env = sharedGateEnv({ emulator: { fixtures: testFixtures() } });
  it('what it used is charged', async () => {
    seedScenario(env.emu);
    const start = env.emu.ledger.length;
    const f = fetchGate(env.gate, { accountRefId: () => 'pro-co' });
    const guarded = f.reserveCredits(answer)(async (req) => {
      f.state(req)?.hold?.use(4);
      throw new Error('handler failed');
    });
    await expect(guarded(new Request('http://worker.test/answer', { method: 'POST' }))).rejects.toThrow('handler failed');
    await expectDebited(env, 'pro-co', start, [4]);
  });
});
