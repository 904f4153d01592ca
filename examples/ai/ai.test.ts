// The AI example on loopback with its stand-in model and the emulator as ecom9: a streamed answer
// charged once by its tokens, a short balance answered 402 before any text, and a client that hangs
// up midway charged for what reached it.
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createAdaptorServer } from '@hono/node-server';
import type { AiSettlement } from 'ecom9-gate/ai';
import { createEmulator, type Emulator } from 'ecom9-gate/emulator';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { buildApp } from './app';
import { standInModel } from './model';

let emu: Emulator;
let url: string;
let server: Server;
let close: () => Promise<void>;
const settlements: AiSettlement[] = [];
let waiter: ((s: AiSettlement) => void) | undefined;
const nextSettlement = () => new Promise<AiSettlement>((r) => (waiter = r));

beforeAll(async () => {
  emu = createEmulator();
  await emu.listen(0);
  const { app, gate } = buildApp({ apiKey: emu.apiKey, baseUrl: emu.url, logger: { warn: () => {} } }, standInModel(20), (s) => {
    settlements.push(s);
    waiter?.(s);
  });
  server = createAdaptorServer({ fetch: app.fetch }) as Server;
  server.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/chat`;
  close = async () => {
    await new Promise((r) => server.close(r));
    await gate.close();
    await emu.close();
  };
});
afterAll(() => close());

const chat = (account: string, signal?: AbortSignal) =>
  fetch(url, {
    method: 'POST',
    headers: { 'x-account-id': account, 'content-type': 'application/json' },
    body: JSON.stringify({ prompt: 'What do credits do?' }),
    ...(signal ? { signal } : {}),
  });
const debits = (ref: string) => emu.ledger.filter((r) => r.approved && r.accountRefId === ref).map((r) => r.quantity);

it('streams the answer and charges its tokens once', async () => {
  emu.setCredits('acme', 'ai-images', 'credits', 100);
  const settled = nextSettlement();
  const res = await chat('acme');
  expect(res.status).toBe(200);
  expect(await res.text()).toMatch(/^Prepaid credits are held .* the reserve\.$/);
  const s = await settled;
  expect(s).toMatchObject({ outcome: 'finished', charged: 1 + Math.ceil(s.usage.outputTokens / 100) });
  expect(debits('acme')).toEqual([s.charged]);
});

it('answers a short balance 402 problem+json with the top-up link, before any text, and charges nothing', async () => {
  emu.setCredits('globex', 'ai-images', 'credits', 3);
  const res = await chat('globex');
  expect(res.status).toBe(402);
  expect(res.headers.get('content-type')).toBe('application/problem+json');
  expect(await res.json()).toMatchObject({ code: 'insufficient_credits', remaining_balance: 3, top_up_url: 'https://example.com/top-up' });
  expect(debits('globex')).toEqual([]);
});

it('charges a client that hangs up midway for what reached it: more than 0, less than the whole answer', async () => {
  emu.setAccount('quitter', { customerEmail: 'q@example.com' });
  emu.setCredits('quitter', 'ai-images', 'credits', 100);
  const ac = new AbortController();
  const settled = nextSettlement();
  const res = await chat('quitter', ac.signal);
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  await reader.read(); // the first word
  ac.abort();
  const s = await settled;
  expect(s.outcome).toBe('aborted');
  expect(s.charged).toBeGreaterThan(0);
  expect(s.usage.outputTokens).toBeLessThan(settlements[0]?.usage.outputTokens ?? 0);
  expect(debits('quitter')).toEqual([s.charged]);
});
