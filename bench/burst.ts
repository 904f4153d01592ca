// A cold burst: 1,000 concurrent requests for one account nobody has asked about yet, through the
// Express adapter; ecom9 answers slowly (50 ms) so they all arrive while the first call is in flight.
import type { AddressInfo } from 'node:net';
import express from 'express';
import { Agent, fetch } from 'undici';
import { createGate } from '../src/index';
import { expressGate } from '../adapters/express';
import { createEmulator } from '../src/emulator/index';

export async function burstBench() {
  const emu = createEmulator();
  await emu.listen(0);
  emu.setAccount('burst', { customerEmail: 'b@example.com', subscriptions: [{ subscription: 'studio-suite', tier: 'pro' }] });
  emu.inject({ endpoint: 'accounts.status', kind: 'latency', ms: 50 });
  const gate = createGate({ apiKey: emu.apiKey, baseUrl: emu.url, logger: { warn: () => {} } });
  const app = express();
  app.get('/tier', expressGate(gate, { accountRefId: () => 'burst' }).requireTier('pro'), (_q, res) => void res.json({ ok: true }));
  const server = app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/tier`;
  const dispatcher = new Agent({ connections: 1_000 });
  const statuses = await Promise.all(Array.from({ length: 1_000 }, () => fetch(url, { dispatcher }).then((r) => r.status)));
  const result = {
    requests: statuses.length,
    ok: statuses.filter((s) => s === 200).length,
    upstreamCalls: emu.callCount('accounts.status', 'burst'),
    coalesced: gate.stats().coalesced,
  };
  server.close();
  await dispatcher.close();
  await gate.close();
  await emu.close();
  return result;
}
