// Attack: fetch and Hono on @hono/node-server register the "response finished" hook on Node's
// response only once the handler has returned its Response. A client that leaves while the handler
// still works (after it used credits on its hold) has closed that response already: its one 'close'
// is gone, the hook never fired, and the credits the handler used were never charged (nor the hold
// settled). Every Node adapter settles such a request as aborted; here it must too.
import http, { type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { createAdaptorServer } from '@hono/node-server';
import { Hono } from 'hono';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Gate } from 'ecom9-gate';
import { fetchGate } from 'ecom9-gate/fetch';
import { honoGate } from 'ecom9-gate/hono';
import { sharedGateEnv } from './support/gate-env';
import { seedScenario, testFixtures } from './support/apps';
import { answer, deferred } from './support/web-apps';

type Build = (gate: Gate, reached: () => void, release: () => Promise<void>) => (req: Request, ...rest: never[]) => Response | Promise<Response>;

const APPS: Array<[string, Build]> = [
  [
    'fetch',
    (gate, reached, release) => {
      const f = fetchGate(gate, { accountRefId: () => 'pro-co' });
      return f.reserveCredits(answer)(async (req) => {
        f.state(req)?.hold?.use(4);
        reached();
        await release();
        return Response.json({ ok: true });
      });
    },
  ],
  [
    'hono',
    (gate, reached, release) => {
      const h = honoGate(gate, { accountRefId: () => 'pro-co' });
      const app = new Hono();
      app.post('/answer', h.reserveCredits(answer), async (c) => {
        c.get('ecom9').hold?.use(4);
        reached();
        await release();
        return c.json({ ok: true });
      });
      return app.fetch;
    },
  ],
];

describe.each(APPS)('%s on @hono/node-server: the client leaves while the handler works', (_name, build) => {
  const env = sharedGateEnv({ emulator: { fixtures: testFixtures() } });
  let server: Server;
  let port = 0;
  let reached = deferred();
  let release = deferred();
  let start = 0;
  let serverSocketClosed: Promise<unknown> = Promise.resolve();
  beforeAll(async () => {
    server = createAdaptorServer({
      fetch: build(
        env.gate,
        () => reached.resolve(),
        () => release.promise,
      ) as never,
    }) as Server;
    // The server's side of each connection: its close is the sign the server saw the client leave.
    server.on('connection', (socket: Socket) => (serverSocketClosed = new Promise((r) => socket.once('close', r))));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    await new Promise((r) => server.close(r));
  });
  beforeEach(() => {
    seedScenario(env.emu);
    start = env.emu.ledger.length;
    reached = deferred();
    release = deferred();
  });
  afterEach(() => release.resolve());

  it('what the handler used on its hold is charged once it returns', async () => {
    const req = http.request({ port, host: '127.0.0.1', method: 'POST', path: '/answer' });
    req.on('error', () => {});
    req.end();
    await reached.promise;
    req.destroy();
    await serverSocketClosed;
    release.resolve();
    const debited = () =>
      env.emu
        .debits('pro-co', 'ai-images', 'credits')
        .filter((r) => env.emu.ledger.indexOf(r) >= start)
        .map((r) => r.quantity);
    // The debit is sent once the handler returns: waited for, then checked once more after a flush (never twice).
    await vi.waitFor(() => expect(debited()).toEqual([4]), { timeout: 5000 });
    await env.gate.flush();
    expect(debited()).toEqual([4]);
  });
});
