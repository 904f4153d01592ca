// The NestJS example, by its public import names, on both platforms against the emulator: allowed,
// denied, charged, metered, and a webhook seen by the next request.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEmulator, type Emulator } from 'ecom9-gate/emulator';
import { buildApp } from './app';

let emu: Emulator;
beforeAll(async () => {
  emu = createEmulator();
  await emu.listen(0);
});
afterAll(async () => {
  await emu.close();
});

describe.each(['express', 'fastify'] as const)('examples/nest on %s', (platform) => {
  const account = `example-nest-${platform}`;
  let built: Awaited<ReturnType<typeof buildApp>>;
  let url: string;
  beforeAll(async () => {
    emu.setAccount(account, { customerEmail: 'x@example.com', subscriptions: [{ subscription: 'studio-suite', tier: 'pro' }] });
    emu.setEntitlement(account, 'pro-api', 'api_access', true);
    emu.setCredits(account, 'ai-images', 'credits', 7);
    built = await buildApp({ apiKey: emu.apiKey, baseUrl: emu.url, webhookSecret: emu.webhookSecret, logger: { warn: () => {} } }, platform);
    await built.app.listen(0, '127.0.0.1');
    url = (await built.app.getUrl()).replace('[::1]', '127.0.0.1');
  });
  afterAll(async () => {
    await built.app.close();
    await built.gate.close();
  });
  const call = (path: string, who = account, method = 'GET') => fetch(url + path, { method, headers: { 'x-account-id': who } });

  it('serves, denies, charges and meters', async () => {
    expect((await call('/reports')).status).toBe(200);
    const denied = await call('/reports', 'globex');
    expect(denied.status).toBe(403);
    expect(((await denied.json()) as { upgrade_url?: string }).upgrade_url).toMatch(/^http/);
    expect((await call('/images', account, 'POST')).status).toBe(201);
    const short = await call('/images', account, 'POST');
    expect(short.status).toBe(402);
    expect(await short.json()).toMatchObject({ code: 'insufficient_credits', remaining_balance: 2, requested: 5, top_up_url: 'https://example.com/top-up' });
    expect((await call('/v1/search?q=x')).status).toBe(200);
    await built.gate.flush();
    expect(emu.usageTotal(account, 'api-access', 'api_calls')).toBe(1);
  });

  // Self-contained: it caches the allow itself, shows the cancellation unseen without the webhook, then seen with it.
  it('sees a cancellation webhook on the next request', async () => {
    expect((await call('/reports')).status).toBe(200);
    emu.setSubscription(account, 'studio-suite', 'pro', 'canceled');
    expect((await call('/reports')).status).toBe(200);
    const hook = await emu.sendWebhook(`${url}/webhooks/ecom9`, { event: 'subscription-cancelled', account_ref_id: account });
    expect(hook.status).toBe(200);
    expect((await call('/reports')).status).toBe(403);
  });
});
