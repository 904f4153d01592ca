// Each example app, used by its public import names, against the emulator: allowed, denied (tier and
// entitlement), charged (with the same top-up link in all three), metered, and a webhook seen by the next request.
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEmulator, type Emulator } from 'ecom9-gate/emulator';
import type { Gate } from 'ecom9-gate';
import { buildApp as expressApp } from './express/app';
import { buildApp as koaApp } from './koa/app';
import { buildApp as fastifyApp } from './fastify/app';
import { buildApp as honoApp } from './hono/app';
import { buildApp as bunApp } from './bun/app';
import { createAdaptorServer } from '@hono/node-server';

let emu: Emulator;
beforeAll(async () => {
  emu = createEmulator();
  await emu.listen(0);
});
afterAll(async () => {
  await emu.close();
});

async function serve(kind: 'express' | 'koa' | 'fastify' | 'hono' | 'bun'): Promise<{ url: string; gate: Gate; close: () => Promise<void> }> {
  const options = { apiKey: emu.apiKey, baseUrl: emu.url, webhookSecret: emu.webhookSecret, logger: { warn: () => {} } };
  if (kind === 'hono' || kind === 'bun') {
    // The web examples on Node (the Bun example's fetch function too: it is runtime-neutral).
    const { gate, fetch } = kind === 'hono' ? (({ app, gate }) => ({ gate, fetch: app.fetch }))(honoApp(options)) : bunApp(options);
    const server = createAdaptorServer({ fetch }) as Server;
    server.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, gate, close: () => new Promise((r) => server.close(() => r())) };
  }
  if (kind === 'fastify') {
    const { app, gate } = await fastifyApp(options);
    const url = await app.listen({ port: 0, host: '127.0.0.1' });
    return { url, gate, close: async () => void (await app.close()) };
  }
  const { app, gate } = kind === 'express' ? expressApp(options) : koaApp(options);
  const server: Server = app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, gate, close: () => new Promise((r) => server.close(() => r())) };
}

describe.each(['express', 'koa', 'fastify', 'hono', 'bun'] as const)('examples/%s', (kind) => {
  const account = `example-${kind}`;
  let app: Awaited<ReturnType<typeof serve>>;
  beforeAll(async () => {
    emu.setAccount(account, { customerEmail: 'x@example.com', subscriptions: [{ subscription: 'studio-suite', tier: 'pro' }] });
    emu.setEntitlement(account, 'pro-api', 'api_access', true);
    emu.setCredits(account, 'ai-images', 'credits', 7);
    app = await serve(kind);
  });
  afterAll(async () => {
    await app.close();
    await app.gate.close();
  });
  const call = (path: string, who = account, method = 'GET') => fetch(app.url + path, { method, headers: { 'x-account-id': who } });

  it('serves, denies, charges and meters', async () => {
    expect((await call('/reports')).status).toBe(200);
    const denied = await call('/reports', 'globex');
    expect(denied.status).toBe(403);
    expect(((await denied.json()) as { upgrade_url?: string }).upgrade_url).toMatch(/^http/);
    const refused = await call('/v1/search?q=x', 'globex');
    expect(refused.status).toBe(403);
    expect(await refused.json()).toMatchObject({ code: 'entitlement_required', product: 'pro-api', entitlement: 'api_access' });
    expect((await call('/images', account, 'POST')).status).toBe(200);
    const short = await call('/images', account, 'POST');
    expect(short.status).toBe(402);
    expect(await short.json()).toMatchObject({ code: 'insufficient_credits', remaining_balance: 2, requested: 5, top_up_url: 'https://example.com/top-up' });
    expect(emu.credits(account, 'ai-images', 'credits')).toBe(2);
    expect((await call('/v1/search?q=x')).status).toBe(200);
    await app.gate.flush();
    expect(emu.usageTotal(account, 'api-access', 'api_calls')).toBe(1);
  });

  // Self-contained: it caches the allow itself, shows the cancellation unseen without the webhook, then seen with it.
  it('sees a cancellation webhook on the next request', async () => {
    expect((await call('/reports')).status).toBe(200);
    emu.setSubscription(account, 'studio-suite', 'pro', 'canceled');
    expect((await call('/reports')).status).toBe(200);
    const hook = await emu.sendWebhook(`${app.url}/webhooks/ecom9`, { event: 'subscription-cancelled', account_ref_id: account });
    expect(hook.status).toBe(200);
    expect((await call('/reports')).status).toBe(403);
  });
});
