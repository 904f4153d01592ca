// The gate on the real Bun and Deno binaries (dev dependencies), against the emulator running here on
// Node, which counts what reached it: the core alone, then the scenario apps of test/support/web-apps.ts
// (fetch and Hono) served by Bun.serve and Deno.serve, through the scenarios of test/adapters.test.ts
// and test/webhook-adapters.test.ts that need nothing but HTTP and the gate's stats.
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Emulator } from 'ecom9-gate/emulator';
import { startEmulator } from './support/env';
import { seedScenario, testFixtures } from './support/apps';
import { WEB_FRAMEWORKS } from './support/web-apps';
import { assertDistBuilt, ROOT, runScript, RUNTIMES, startServer, type Runtime, type RuntimeServer } from './support/runtimes';

let emu: Emulator;
let deadUrl: string;
let dir: string;
beforeAll(async () => {
  assertDistBuilt();
  emu = await startEmulator({ fixtures: testFixtures() });
  // A port that was just free and is closed again: connection refused, at once.
  deadUrl = `http://127.0.0.1:${await freePort()}/api/`;
  dir = mkdtempSync(join(tmpdir(), 'ecom9-runtimes-'));
});
afterAll(async () => {
  await emu?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe.each(Object.keys(RUNTIMES) as Runtime[])('the core on %s', (rt) => {
  it('runs the client, gate, usage spool, webhooks and the emulator itself', async () => {
    emu.setAccount('rt-pro', { customerEmail: 'rt@example.com', subscriptions: [{ subscription: 'studio-suite', tier: 'pro' }] });
    emu.setAccount('rt-free', { customerEmail: 'free@example.com', subscriptions: [{ subscription: 'studio-suite', tier: 'starter' }] });
    emu.setCredits('rt-pro', 'ai-images', 'credits', 10);
    const usageBefore = emu.usageTotal('rt-pro', 'api-access', 'api_calls');
    emu.resetCalls();
    const spool = join(dir, `${rt}.jsonl`);
    const r = await runScript(rt, `${ROOT}test/runtime/core.ts`, { ECOM9_BASE_URL: emu.url, ECOM9_API_KEY: emu.apiKey, DEAD_URL: deadUrl, SPOOL_PATH: spool });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout.trim().split('\n').at(-1) ?? '{}');
    expect(out).toEqual({
      runtime: rt,
      status: 'rt@example.com',
      debits: [8, 8],
      notFound: 'NotFoundError',
      tier: ['allowed', 'cache'],
      starter: 'tier_required',
      dead: 'connection_failed',
      localTier: true,
      localCalls: 1,
      webhook: 200,
      forged: 401,
      seen: ['acme'],
    });
    // One debit charged for two sends of one event_key; one status call for two tier checks.
    expect(emu.credits('rt-pro', 'ai-images', 'credits')).toBe(8);
    expect(emu.callCount('credits.debit', 'rt-pro')).toBe(2);
    expect(emu.callCount('accounts.status', 'rt-pro')).toBe(2);
    // The event recorded during the outage arrived once, after the restart, from the journal.
    expect(emu.usageTotal('rt-pro', 'api-access', 'api_calls') - usageBefore).toBe(3);
    expect(emu.usageEvents.filter((e) => e.eventKey === `rt-spool-${rt}`)).toHaveLength(1);
  });
});

const seed = () => seedScenario(emu);

const get = (url: string, account?: string, extra: Record<string, string> = {}) =>
  fetch(url, { headers: { ...(account ? { 'x-account': account } : {}), ...extra } });
const post = (url: string, account: string, extra: Record<string, string> = {}) => fetch(url, { method: 'POST', headers: { 'x-account': account, ...extra } });

describe.each(Object.keys(RUNTIMES) as Runtime[])('the scenario apps on %s', (rt) => {
  let server: RuntimeServer;
  beforeAll(async () => {
    server = await startServer(rt, `${ROOT}test/runtime/serve.ts`, {
      ECOM9_BASE_URL: emu.url,
      ECOM9_API_KEY: emu.apiKey,
      ECOM9_WEBHOOK_SECRET: emu.webhookSecret,
    });
  });
  afterAll(async () => {
    await server?.stop();
  });

  describe.each(WEB_FRAMEWORKS)('%s', (fw) => {
    let url: string;
    const control = async (what: string, init?: RequestInit) => (await fetch(`${url}/__control/${what}`, init)).json();
    const queued = async () => ((await control('stats')) as { usageQueued: number }).usageQueued;
    beforeEach(async () => {
      url = server.urls[fw] as string;
      seed();
      await control('invalidate?account=pro-co&account=free-co&account=late-co&account=ghost', { method: 'POST' });
      await control('reported');
    });

    it('allows the right tier with the state, answers the next from cache, denies the wrong tier with problem+json', async () => {
      const res = await get(`${url}/tier`, 'pro-co');
      expect(res.status).toBe(200);
      expect(((await res.json()) as { ecom9: unknown }).ecom9).toMatchObject({ accountRefId: 'pro-co', decision: { allowed: true, code: 'allowed' } });
      await get(`${url}/tier`, 'pro-co');
      await get(`${url}/tier`, 'pro-co', { 'x-async': '1' });
      expect(emu.callCount('accounts.status', 'pro-co')).toBe(1);
      const denied = await get(`${url}/tier`, 'free-co');
      expect(denied.status).toBe(403);
      expect(denied.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(await denied.json()).toMatchObject({ status: 403, code: 'tier_required', required_tiers: ['pro'] });
    });

    it('turns a past-due subscription into a 402 with the payment link, fetched once', async () => {
      for (let i = 0; i < 2; i++) {
        const res = await get(`${url}/pay`, 'late-co');
        expect(res.status).toBe(402);
        expect(await res.json()).toMatchObject({ code: 'payment_required', payment_url: expect.stringMatching(/^http/) });
      }
      expect(emu.callCount('subscriptions.fix', 'late-co')).toBe(1);
    });

    it('denies a missing entitlement with 403 naming product and entitlement', async () => {
      expect((await get(`${url}/ent`, 'pro-co')).status).toBe(200);
      const res = await get(`${url}/ent`, 'free-co');
      expect(res.status).toBe(403);
      expect(await res.json()).toMatchObject({ code: 'entitlement_required', product: 'pro-api', entitlement: 'api_access' });
    });

    it('answers 401 to no account, a non-string one, or a resolver that throws or rejects (reported), nothing charged', async () => {
      for (const account of [undefined, 'number']) {
        const res = await get(`${url}/tier`, account);
        expect(res.status).toBe(401);
        expect(await res.json()).toMatchObject({ code: 'account_unresolved' });
      }
      for (const res of [await get(`${url}/tier`, 'throw'), await post(`${url}/images`, 'reject')]) {
        expect(res.status).toBe(401);
        expect(await res.json()).toMatchObject({ status: 401, code: 'account_unresolved' });
      }
      expect(await control('reported')).toEqual(['resolver exploded', 'resolver rejected']);
      expect(emu.callCount()).toBe(0);
    });

    it('lets onDenied answer instead, or send the request on with the denial in its state', async () => {
      const custom = await get(`${url}/custom`, 'pro-co');
      expect(custom.status).toBe(418);
      expect(await custom.json()).toEqual({ custom: true, code: 'tier_required' });
      expect(await (await get(`${url}/soft`, 'pro-co')).json()).toEqual({ code: 'tier_required' });
    });

    it('debits credits before the handler; 402 when short; a retried Idempotency-Key is charged once', async () => {
      const res = await post(`${url}/images`, 'pro-co');
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ credits: { debited: 5, remainingBalance: 7 } });
      const short = await post(`${url}/images/50`, 'pro-co');
      expect(short.status).toBe(402);
      expect(await short.json()).toMatchObject({
        code: 'insufficient_credits',
        remaining_balance: 7,
        requested: 50,
        top_up_url: 'https://billing.example.com/top-up',
      });
      const key = { 'idempotency-key': `retry-${rt}-${fw}` };
      expect([(await post(`${url}/images`, 'pro-co', key)).status, (await post(`${url}/images`, 'pro-co', key)).status]).toEqual([200, 200]);
      expect(emu.credits('pro-co', 'ai-images', 'credits')).toBe(2);
      // The same key from another account is another charge.
      expect((await post(`${url}/images`, 'free-co', key)).status).toBe(200);
      expect(emu.credits('free-co', 'ai-images', 'credits')).toBe(7);
    });

    it('answers 400 invalid_quantity to a computed quantity that is not a whole number, charging nothing', async () => {
      for (const n of ['abc', '1.5', '-3']) {
        const res = await post(`${url}/images/${n}`, 'pro-co');
        expect(res.status).toBe(400);
        expect(await res.json()).toMatchObject({ status: 400, code: 'invalid_quantity', product: 'ai-images', meter: 'credits' });
      }
      expect(emu.callCount('credits.debit')).toBe(0);
    });

    it('meters exactly the successful requests, with the quantity a function gives', async () => {
      const before = emu.usageTotal('pro-co', 'api-access', 'api_calls');
      const q = await queued();
      for (let i = 0; i < 3; i++) expect((await get(`${url}/metered`, 'pro-co')).status).toBe(200);
      expect((await get(`${url}/metered-fail`, 'pro-co')).status).toBe(500);
      expect((await get(`${url}/metered-weighted`, 'pro-co')).status).toBe(200);
      await vi.waitFor(async () => expect((await queued()) - q).toBe(4));
      await control('flush', { method: 'POST' });
      expect(emu.usageTotal('pro-co', 'api-access', 'api_calls') - before).toBe(3 + 7);
    });

    it('meters a streamed response once sent to its end, and not when the client aborts midway', async () => {
      const before = emu.usageTotal('pro-co', 'api-access', 'api_calls');
      const q = await queued();
      const read = async (abort: boolean) => {
        await control('hold', { method: 'POST' });
        const ctl = new AbortController();
        const res = await fetch(`${url}/metered-stream`, { headers: { 'x-account': 'pro-co' }, signal: ctl.signal });
        const reader = (res.body as ReadableStream<Uint8Array>).getReader();
        const first = new TextDecoder().decode((await reader.read()).value);
        if (abort) ctl.abort();
        await control('release', { method: 'POST' });
        let text = first;
        if (!abort) for (let c = await reader.read(); !c.done; c = await reader.read()) text += new TextDecoder().decode(c.value);
        await control('closed');
        return text;
      };
      expect(await read(true)).toBe('first;');
      await control('flush', { method: 'POST' });
      expect((await queued()) - q).toBe(0);
      expect(await read(false)).toBe('first;last');
      await vi.waitFor(async () => expect((await queued()) - q).toBe(1));
      await control('flush', { method: 'POST' });
      expect(emu.usageTotal('pro-co', 'api-access', 'api_calls') - before).toBe(1);
    });

    it('answers 503 with Retry-After when ecom9 is down and nothing is cached', async () => {
      emu.inject({ endpoint: 'accounts.status', kind: 'status', status: 503 });
      const res = await get(`${url}/tier`, 'pro-co');
      expect(res.status).toBe(503);
      expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(await res.json()).toMatchObject({ code: 'upstream_unavailable' });
    });

    it('webhooks: an upgrade is seen by the next request; forged 401, GET 405, oversized 413', async () => {
      const hook = `${url}/webhooks/ecom9`;
      expect((await get(`${url}/tier`, 'free-co')).status).toBe(403);
      emu.setSubscription('free-co', 'studio-suite', 'pro', 'active');
      expect((await get(`${url}/tier`, 'free-co')).status).toBe(403); // still cached
      const forged = await emu.sendWebhook(hook, { event: 'subscription-updated', account_ref_id: 'free-co' }, { secret: `whsec_${btoa('not-the-secret')}` });
      expect(forged.status).toBe(401);
      expect((await get(`${url}/tier`, 'free-co')).status).toBe(403);
      const r = await emu.sendWebhook(hook, { event: 'subscription-updated', account_ref_id: 'free-co' });
      expect([r.status, JSON.parse(r.body)]).toEqual([200, { received: true }]);
      expect((await get(`${url}/tier`, 'free-co')).status).toBe(200);
      const wrong = await fetch(hook);
      expect([wrong.status, wrong.headers.get('allow')]).toEqual([405, 'POST']);
      const big = await fetch(hook, { method: 'POST', headers: { 'content-type': 'application/json' }, body: 'x'.repeat(80 * 1024) });
      expect(big.status).toBe(413);
      expect(await big.json()).toMatchObject({ error: 'payload_too_large' });
    });
  });
});

// Each example runs with the one command of its README: start, one gated request each way, stop.
const EXAMPLES: Array<[Runtime, string[]]> = [
  ['bun', ['examples/bun/server.ts']],
  ['bun', ['examples/hono/server.ts']],
  ['deno', ['run', '-A', 'examples/deno/server.ts']],
];

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

describe('examples', () => {
  it.each(EXAMPLES)('%s %j: starts with its README command and gates /reports on the demo accounts', async (rt, args) => {
    const ex = await startServer(rt, args.at(-1) as string, { PORT: String(await freePort()), ECOM9_API_KEY: '' }, args);
    try {
      const ok = await fetch(`${ex.urls.url}/reports`, { headers: { 'x-account-id': 'acme' } });
      expect(ok.status).toBe(200);
      expect(await ok.json()).toMatchObject({ report: 'quarterly numbers', account: 'acme' });
      const denied = await fetch(`${ex.urls.url}/reports`, { headers: { 'x-account-id': 'globex' } });
      expect(denied.status).toBe(403);
      expect(await denied.json()).toMatchObject({ code: 'tier_required' });
    } finally {
      await ex.stop();
    }
  });
});
