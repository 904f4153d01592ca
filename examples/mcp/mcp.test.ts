// The MCP example on loopback with the SDK's own client over streamable HTTP and the emulator as
// ecom9: a paid tool charged once, a short balance and a lower tier answered as tool results, and a
// hold-backed tool charged what it used.
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { createEmulator, type Emulator } from 'ecom9-gate/emulator';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { buildApp } from './app';

let emu: Emulator;
let url: URL;
let close: () => Promise<void>;

beforeAll(async () => {
  emu = createEmulator();
  await emu.listen(0);
  const { app, gate, closeSessions } = buildApp({ apiKey: emu.apiKey, baseUrl: emu.url, logger: { warn: () => {} } });
  const server: Server = app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  url = new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`);
  close = async () => {
    await closeSessions();
    await new Promise((r) => server.close(r));
    await gate.close();
    await emu.close();
  };
});
afterAll(() => close());

async function client(token: string) {
  const c = new Client({ name: 'example-test', version: '1.0.0' });
  await c.connect(new StreamableHTTPClientTransport(url, { requestInit: { headers: { authorization: `Bearer ${token}` } } }));
  return c;
}
const text = (r: unknown) => (r as { content: { text: string }[] }).content[0]?.text ?? '';
const debits = (ref: string) => emu.ledger.filter((r) => r.approved && r.accountRefId === ref).map((r) => r.quantity);

it('charges generate_image once, and summarise what it wrote', async () => {
  emu.setCredits('acme', 'ai-images', 'credits', 100);
  const c = await client('demo-acme');
  expect((await c.listTools()).tools.map((t) => t.name).sort()).toEqual(['generate_image', 'quarterly_report', 'summarise']);
  expect(text(await c.callTool({ name: 'generate_image', arguments: { prompt: 'a red fox' } }))).toContain('95 credits left');
  const words = Array.from({ length: 40 }, (_, i) => `w${i}`).join(' ');
  expect(text(await c.callTool({ name: 'summarise', arguments: { text: words } })).split(' ')).toHaveLength(25);
  expect(debits('acme')).toEqual([5, 3]);
  await c.close();
});

it('answers a short balance and a lower tier as tool results the model can read', async () => {
  emu.setCredits('globex', 'ai-images', 'credits', 3);
  const c = await client('demo-globex');
  const short = await c.callTool({ name: 'generate_image', arguments: { prompt: 'x' } });
  expect(short.isError).toBe(true);
  expect(JSON.parse(text(short))).toMatchObject({ code: 'insufficient_credits', top_up_url: 'https://example.com/top-up' });
  const tier = await c.callTool({ name: 'quarterly_report', arguments: {} });
  expect(tier.isError).toBe(true);
  expect(JSON.parse(text(tier))).toMatchObject({ code: 'tier_required', required_tiers: ['pro'] });
  expect(debits('globex')).toEqual([]);
  await c.close();
});

it('refuses a request without a known token before any tool runs', async () => {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
  expect(res.status).toBe(401);
});
