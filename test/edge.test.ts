// ecom9-gate inside workerd (Cloudflare's runtime, run by Miniflare), with no compatibility flag and
// with nodejs_compat: examples/cloudflare bundled as wrangler would bundle it, served on loopback, its
// env pointing at the emulator here, which counts what reached ecom9. Needs dist/ (npm run build).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Emulator } from 'ecom9-gate/emulator';
import { startEmulator } from './support/env';
import { assertDistBuilt, ROOT } from './support/runtimes';
import { bundleWorker, serveWorker, type WorkerServer } from './support/workerd';

let emu: Emulator;
let script: string;
beforeAll(async () => {
  assertDistBuilt();
  emu = await startEmulator();
  script = await bundleWorker();
}, 60_000);
afterAll(async () => {
  await emu?.close();
});

it('bundles for workerd with no Node built-in and no undici', () => {
  expect(script).not.toMatch(/\bfrom\s*["']node:/);
  expect(script).not.toMatch(/require\(["']node:/);
  expect(script).not.toMatch(/node_modules\/undici\//);
});

describe.each([
  ['no flags', []],
  ['nodejs_compat', ['nodejs_compat']],
])('the Worker in workerd, %s', (name, flags) => {
  let worker: WorkerServer;
  // Accounts of their own per isolate: both runs share the emulator.
  const tag = name === 'no flags' ? 'wd' : 'wdc';
  const pro = `${tag}-pro`;
  const free = `${tag}-free`;
  beforeAll(async () => {
    emu.setAccount(pro, { customerEmail: 'pro@example.com', subscriptions: [{ subscription: 'studio-suite', tier: 'pro' }] });
    emu.setAccount(free, { customerEmail: 'free@example.com', subscriptions: [{ subscription: 'studio-suite', tier: 'starter' }] });
    emu.setEntitlement(pro, 'pro-api', 'api_access', true);
    emu.setCredits(pro, 'ai-images', 'credits', 12);
    worker = await serveWorker(script, flags, { ECOM9_API_KEY: emu.apiKey, ECOM9_BASE_URL: emu.url, ECOM9_WEBHOOK_SECRET: emu.webhookSecret });
  }, 60_000);
  afterAll(async () => {
    await worker?.close();
  });
  const get = (path: string, account?: string) => fetch(`${worker.url}${path}`, { headers: account ? { 'x-account-id': account } : {} });

  it('a webhook that lands while another request is asking ecom9 about the account is applied: that answer is not kept', async () => {
    const ref = `${pro}-race`;
    emu.setAccount(ref, { customerEmail: 'pro@example.com', subscriptions: [{ subscription: 'studio-suite', tier: 'pro' }] });
    emu.inject({ kind: 'latency', ms: 400, endpoint: 'accounts.status', accountRefId: ref });
    try {
      // Two requests wait on one call (coalesced within the isolate)...
      const pending = [get('/reports', ref), get('/reports', ref)];
      await expect.poll(() => emu.callCount('accounts.status', ref), { interval: 10 }).toBe(1);
      // ...while the subscription is cancelled and the webhook reaches the Worker in a request of its own.
      emu.setSubscription(ref, 'studio-suite', 'pro', 'canceled');
      const hook = await emu.sendWebhook(`${worker.url}/webhooks/ecom9`, { event: 'subscription.canceled', account_ref_id: ref });
      expect(hook.status).toBe(200);
      for (const res of await Promise.all(pending)) expect(res.status).toBe(403);
    } finally {
      emu.clearFaults();
    }
    expect((await get('/reports', ref)).status).toBe(403);
  });

  describe.each(['', '/hono'])('routes at "%s"', (base) => {
    it('allows the right tier, answers the next request from the isolate cache, denies with problem+json', async () => {
      const ref = `${pro}${base.replace('/', '-')}`;
      emu.setAccount(ref, { customerEmail: 'pro@example.com', subscriptions: [{ subscription: 'studio-suite', tier: 'pro' }] });
      const first = await get(`${base}/reports`, ref);
      expect(first.status).toBe(200);
      expect(await first.json()).toMatchObject({ report: 'quarterly numbers', account: ref });
      expect((await get(`${base}/reports`, ref)).status).toBe(200);
      expect(emu.callCount('accounts.status', ref)).toBe(1);
      const denied = await get(`${base}/reports`, free);
      expect(denied.status).toBe(403);
      expect(denied.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(await denied.json()).toMatchObject({ status: 403, code: 'tier_required' });
      expect((await get(`${base}/reports`)).status).toBe(401);
    });

    it('charges one Idempotency-Key once, however often it is sent', async () => {
      const ref = `${pro}-charge${base.replace('/', '-')}`;
      emu.setAccount(ref, { customerEmail: 'pro@example.com', subscriptions: [] });
      emu.setCredits(ref, 'ai-images', 'credits', 12);
      const charge = () => fetch(`${worker.url}${base}/images`, { method: 'POST', headers: { 'x-account-id': ref, 'idempotency-key': 'order-1' } });
      for (let i = 0; i < 2; i++) {
        const res = await charge();
        expect(res.status).toBe(200);
        expect(await res.json()).toMatchObject({ credits: { remainingBalance: 7 } });
      }
      expect(emu.credits(ref, 'ai-images', 'credits')).toBe(7);
      expect(emu.ledger.filter((r) => r.accountRefId === ref)).toHaveLength(1);
      // Short of credits: 402, nothing debited.
      emu.setCredits(ref, 'ai-images', 'credits', 3);
      const short = await fetch(`${worker.url}${base}/images`, { method: 'POST', headers: { 'x-account-id': ref } });
      expect(short.status).toBe(402);
      expect(emu.credits(ref, 'ai-images', 'credits')).toBe(3);
    });

    it("delivers a metered event within the request's waitUntil, with no later request to carry it", async () => {
      const ref = `${pro}-meter${base.replace('/', '-')}`;
      emu.setAccount(ref, { customerEmail: 'pro@example.com', subscriptions: [] });
      emu.setEntitlement(ref, 'pro-api', 'api_access', true);
      const res = await get(`${base}/search?q=x`, ref);
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ results: ['match for x'] });
      // Nothing else reaches the Worker: only its waitUntil can have sent the event.
      await expect.poll(() => emu.usageTotal(ref, 'api-access', 'api_calls'), { timeout: 5_000, interval: 50 }).toBe(1);
      expect(emu.usageEvents.filter((e) => e.accountRefId === ref)).toHaveLength(1);
    });

    it('a signed webhook flips the next request; a bad signature is refused with 401 and changes nothing', async () => {
      const ref = `${pro}-hook${base.replace('/', '-')}`;
      emu.setAccount(ref, { customerEmail: 'pro@example.com', subscriptions: [{ subscription: 'studio-suite', tier: 'pro' }] });
      expect((await get(`${base}/reports`, ref)).status).toBe(200);
      emu.setSubscription(ref, 'studio-suite', 'pro', 'canceled');
      const forged = await emu.sendWebhook(
        `${worker.url}${base}/webhooks/ecom9`,
        { event: 'subscription.canceled', account_ref_id: ref },
        { secret: 'whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' },
      );
      expect(forged.status).toBe(401);
      expect((await get(`${base}/reports`, ref)).status).toBe(200);
      const signed = await emu.sendWebhook(`${worker.url}${base}/webhooks/ecom9`, { event: 'subscription.canceled', account_ref_id: ref });
      expect(signed.status).toBe(200);
      expect((await get(`${base}/reports`, ref)).status).toBe(403);
      expect(emu.callCount('accounts.status', ref)).toBe(2);
    });
  });
});

describe('what an isolate cannot have is refused at start-up, naming the runtime', () => {
  it.each([
    ['no flags', []],
    ['nodejs_compat', ['nodejs_compat']],
  ])('a usage spool on disk (%s)', async (_name, flags) => {
    const worker = await serveWorker(await bundleWorker(`${ROOT}test/fixtures/edge/spool-worker.ts`), flags, {});
    try {
      expect(await (await fetch(worker.url)).json()).toEqual({
        name: 'TypeError',
        code: 'invalid_options',
        message: expect.stringMatching(/^ecom9-gate: usage\.spoolPath: .* cannot exist on Cloudflare Workers \(workerd\): an isolate has no durable disk/),
      });
    } finally {
      await worker.close();
    }
  });

  it('a Redis bus or store (with nodejs_compat: without it ioredis cannot even be bundled)', async () => {
    const worker = await serveWorker(await bundleWorker(`${ROOT}test/fixtures/edge/redis-worker.ts`, true), ['nodejs_compat'], {});
    try {
      const body = (await (await fetch(worker.url)).json()) as Record<string, { code: string; message: string }>;
      for (const [name, what] of [
        ['redisBus', body.bus],
        ['redisStore', body.store],
      ] as const) {
        expect(what).toMatchObject({
          code: 'invalid_options',
          message: expect.stringContaining(`ecom9-gate: ${name}: ioredis cannot exist on Cloudflare Workers (workerd)`),
        });
      }
    } finally {
      await worker.close();
    }
  });
});
