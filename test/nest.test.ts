// ecom9-gate/nest on both Nest platforms (Express, Fastify): the adapter scenario table, the webhook
// table and the module's start-up checks, over real HTTP (supertest) against the emulator.
import { randomUUID } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import request from 'supertest';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Emulator } from 'ecom9-gate/emulator';
import type { Gate } from 'ecom9-gate';
import { Ecom9Module } from 'ecom9-gate/nest';
import { gateFor, startEmulator } from './support/env';
import { seedScenario, testFixtures } from './support/apps';
import { createNestApp, PLATFORMS, startNestApp, type RunningNest } from './support/nest-app';
import { forgotGuardRuns, NEST_ONLY_CONTROLLERS, startAuthApp } from './support/nest-controllers';
import { chunkedPost } from './support/http';

let emu: Emulator;
beforeAll(async () => {
  emu = await startEmulator({ fixtures: testFixtures() });
});
afterAll(async () => {
  await emu.close();
});

const seed = () => seedScenario(emu);

describe.each(PLATFORMS)('nest on %s', (platform) => {
  let gate: Gate;
  let app: RunningNest;
  let reported: unknown[];
  const get = (path: string, account?: string, extra: Record<string, string> = {}) =>
    request(app.server)
      .get(path)
      .set({ ...(account ? { 'x-account': account } : {}), ...extra });
  const post = (path: string, account: string, extra: Record<string, string> = {}) =>
    request(app.server)
      .post(path)
      .set({ 'x-account': account, ...extra });

  beforeAll(async () => {
    reported = [];
    gate = gateFor(emu, { onError: (e) => reported.push(e) });
    app = await startNestApp(platform, gate, { controllers: NEST_ONLY_CONTROLLERS });
  });
  afterAll(async () => {
    await app.close();
    await gate.close();
  });
  beforeEach(() => {
    seed();
    reported.length = 0;
    for (const a of ['pro-co', 'free-co', 'late-co']) gate.invalidate(a);
  });

  it('leaves a route without a decorator alone: no call reaches ecom9', async () => {
    const res = await get('/open', 'pro-co');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ open: true });
    expect((await get('/open')).status).toBe(200);
    expect(emu.callCount()).toBe(0);
  });

  it('allows the right tier, hands @Ecom9() the state, and answers the next request from cache', async () => {
    const res = await get('/tier', 'pro-co');
    expect(res.status).toBe(200);
    expect(res.body.ecom9).toMatchObject({ accountRefId: 'pro-co', decision: { allowed: true, code: 'allowed' } });
    await get('/tier', 'pro-co');
    await get('/tier', 'pro-co', { 'x-async': '1' });
    expect(emu.callCount('accounts.status', 'pro-co')).toBe(1);
  });

  it('denies the wrong tier with a 403 problem+json, the same body as the other adapters', async () => {
    const res = await get('/tier', 'free-co');
    expect(res.status).toBe(403);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(JSON.parse(res.text)).toMatchObject({
      status: 403,
      code: 'tier_required',
      title: expect.any(String),
      type: expect.stringContaining('tier_required'),
      required_tiers: ['pro'],
    });
  });

  it('narrows to a subscription, and turns past-due into a 402 with the payment link', async () => {
    expect((await get('/tier-sub', 'pro-co')).status).toBe(200);
    expect(emu.calls.find((c) => c.endpoint === 'accounts.status')?.query.subscription).toBe('studio-suite');
    const res = await get('/pay', 'late-co');
    expect(res.status).toBe(402);
    expect(JSON.parse(res.text)).toMatchObject({ code: 'payment_required', payment_url: expect.stringMatching(/^http/) });
  });

  it('denies a missing entitlement with 403 naming product and entitlement', async () => {
    expect((await get('/ent', 'pro-co')).status).toBe(200);
    const res = await get('/ent', 'free-co');
    expect(res.status).toBe(403);
    expect(JSON.parse(res.text)).toMatchObject({ code: 'entitlement_required', product: 'pro-api', entitlement: 'api_access' });
  });

  it('tells controllers apart that inherit one handler: open in one, gated in the other, whichever is asked first', async () => {
    expect((await get('/free-list/list', 'free-co')).status).toBe(200);
    expect(emu.callCount()).toBe(0);
    expect((await get('/pro-list/list', 'free-co')).status).toBe(403);
    expect((await get('/pro-list/list', 'pro-co')).status).toBe(200);
    expect((await get('/free-list/list')).status).toBe(200);
  });

  it('applies a controller-level @RequireTier to each handler, before the handler-level charge', async () => {
    expect((await get('/pro/report', 'pro-co')).body).toEqual({ account: 'pro-co' });
    expect((await get('/pro/report', 'free-co')).status).toBe(403);
    const refused = await post('/pro/render', 'free-co');
    expect(refused.status).toBe(403);
    expect(emu.credits('free-co', 'ai-images', 'credits')).toBe(12);
    expect(emu.callCount('credits.debit')).toBe(0);
    const ok = await post('/pro/render', 'pro-co');
    expect(ok.body).toMatchObject({ credits: { debited: 5, remainingBalance: 7 } });
  });

  it('answers 401 account_unresolved when no account is found, the resolver throws, rejects or returns a non-string; never an allow', async () => {
    for (const account of [undefined, 'throw', 'reject', 'number']) {
      const res = await get('/tier', account);
      expect(res.status).toBe(401);
      expect(JSON.parse(res.text)).toMatchObject({ code: 'account_unresolved' });
    }
    expect(reported.map((e) => (e as Error).message)).toEqual(['resolver exploded', 'resolver rejected']);
    expect(emu.callCount()).toBe(0);
  });

  it("answers 500 (Nest's error answer, not an allow) when a quantity function throws, charging nothing", async () => {
    const res = await post('/charge-throws', 'pro-co');
    expect(res.status).toBe(500);
    expect(res.body).not.toHaveProperty('ok');
    expect(emu.callCount('credits.debit')).toBe(0);
  });

  it('answers 400 invalid_quantity to a computed quantity that is not a whole number, charging nothing', async () => {
    for (const n of ['abc', '1.5', '-3']) {
      const res = await post(`/images/${n}`, 'pro-co');
      expect(res.status).toBe(400);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(JSON.parse(res.text)).toMatchObject({ status: 400, code: 'invalid_quantity', product: 'ai-images', meter: 'credits' });
    }
    expect(emu.callCount('credits.debit')).toBe(0);
  });

  it('meters successful responses once each, and neither a 4xx nor a 5xx nor a denied request', async () => {
    const before = emu.usageTotal('pro-co', 'api-access', 'api_calls');
    const queued = gate.stats().usageQueued;
    for (let i = 0; i < 3; i++) expect((await get('/metered', 'pro-co')).status).toBe(200);
    expect((await get('/metered-fail', 'pro-co')).status).toBe(500);
    expect((await get('/metered-missing', 'pro-co')).status).toBe(404);
    expect((await get('/tier-metered', 'free-co')).status).toBe(403);
    expect((await get('/tier-metered', 'pro-co')).status).toBe(200);
    await vi.waitFor(() => expect(gate.stats().usageQueued - queued).toBe(4));
    await gate.flush();
    expect(emu.usageTotal('pro-co', 'api-access', 'api_calls') - before).toBe(4);
    expect(emu.usageTotal('free-co', 'api-access', 'api_calls')).toBe(0);
  });

  it('meters each meter on a route once under a retried Idempotency-Key', async () => {
    const calls = emu.usageTotal('pro-co', 'api-access', 'api_calls');
    const toks = emu.usageTotal('pro-co', 'api-access', 'tokens');
    const queued = gate.stats().usageQueued;
    const key = { 'idempotency-key': `meter-${platform}` };
    for (let i = 0; i < 2; i++) expect((await get('/metered-two', 'pro-co', key)).status).toBe(200);
    await vi.waitFor(() => expect(gate.stats().usageQueued - queued).toBe(4));
    await gate.flush();
    expect(emu.usageTotal('pro-co', 'api-access', 'api_calls') - calls).toBe(1);
    expect(emu.usageTotal('pro-co', 'api-access', 'tokens') - toks).toBe(100);
  });

  it('answers 503 with Retry-After when ecom9 is down and nothing is cached', async () => {
    emu.inject({ endpoint: 'accounts.status', kind: 'status', status: 503 });
    const res = await get('/tier', 'pro-co');
    expect(res.status).toBe(503);
    expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(JSON.parse(res.text)).toMatchObject({ code: 'upstream_unavailable' });
  });

  it("lets the app's exception filter reshape a denial: it sees an HttpException with the status and problem body", async () => {
    const res = await get('/filtered', 'pro-co');
    expect(res.status).toBe(418);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.body).toMatchObject({
      reshaped: true,
      denial: 'tier_required',
      status: 403,
      problem: { code: 'tier_required', required_tiers: ['enterprise'] },
    });
  });
});

describe.each(PLATFORMS)('nest webhook route on %s', (platform) => {
  let gate: Gate;
  let app: RunningNest;
  let hook: string;
  const seen: string[] = [];
  const acc = `nest-${platform}-co`;
  const tier = () =>
    request(app.server)
      .get('/tier')
      .set('x-account', acc)
      .then((r) => r.status);
  const send = (event: string, opts?: Parameters<Emulator['sendWebhook']>[2]) => emu.sendWebhook(hook, { event, account_ref_id: acc }, opts);

  beforeAll(async () => {
    gate = gateFor(emu);
    // forRootAsync here: the gate comes from an injected provider.
    app = await startNestApp(platform, gate, { async: true, handlers: { '*': (e) => void seen.push(e.event) } });
    hook = `${app.url}/webhooks/ecom9`;
  });
  afterAll(async () => {
    await app.close();
    await gate.close();
  });
  beforeEach(() => {
    emu.clearFaults();
    emu.setAccount(acc, { customerEmail: 'co@example.com', subscriptions: [{ subscription: 'studio-suite', tier: 'starter' }] });
    gate.invalidate(acc);
  });

  it('an upgrade is seen by the very next request, and the handlers run', async () => {
    expect(await tier()).toBe(403);
    emu.setSubscription(acc, 'studio-suite', 'pro', 'active');
    expect(await tier()).toBe(403); // still cached
    const r = await send('subscription-updated');
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body)).toEqual({ received: true });
    expect(await tier()).toBe(200);
    expect(seen).toContain('subscription-updated');
  });

  it('refuses a forged signature with 401, leaving the cache alone', async () => {
    expect(await tier()).toBe(403);
    emu.setSubscription(acc, 'studio-suite', 'pro', 'active');
    const invalidations = gate.stats().invalidations;
    const forged = await send('subscription-updated', { secret: `whsec_${Buffer.from('not-the-secret').toString('base64')}` });
    expect(forged.status).toBe(401);
    expect(JSON.parse(forged.body)).toMatchObject({ received: false, error: 'invalid_signature' });
    expect(gate.stats().invalidations).toBe(invalidations);
    expect(await tier()).toBe(403);
  });

  it('answers 400 to a malformed payload, 405 to a GET and 401 to an unsigned empty POST', async () => {
    const bad = emu.buildWebhook({ event: 'subscription-updated', account_ref_id: '..' });
    expect((await fetch(hook, { method: 'POST', headers: bad.headers, body: bad.body })).status).toBe(400);
    const wrong = await fetch(hook);
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get('allow')).toBe('POST');
    expect(await wrong.json()).toEqual({ received: false, error: 'method_not_allowed', detail: 'ecom9 delivers webhooks with POST' });
    const empty = await fetch(hook, { method: 'POST' });
    expect(empty.status).toBe(401);
  });

  it('answers 413 to a body over 64 KiB (with a length or chunked), and verifies one just under it', async () => {
    const big = await fetch(hook, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ pad: 'x'.repeat(80 * 1024) }) });
    expect(big.status).toBe(413);
    expect(await big.json()).toEqual({ received: false, error: 'payload_too_large', detail: 'the body exceeds 65536 bytes' });
    const chunked = await chunkedPost(hook, { 'content-type': 'application/json' }, Buffer.from(JSON.stringify({ pad: 'y'.repeat(90 * 1024) })));
    expect(chunked.status).toBe(413);
    const { body, headers } = emu.buildWebhook({ event: 'subscription-updated', account_ref_id: acc, pad: 'x'.repeat(60 * 1024) } as never);
    expect((await chunkedPost(hook, headers, Buffer.from(body), 1000)).status).toBe(200);
  });

  it('answers 415 to a compressed body without decompressing it', async () => {
    const { body, headers } = emu.buildWebhook({ event: 'subscription-updated', account_ref_id: acc });
    const invalidations = gate.stats().invalidations;
    const r = await fetch(hook, { method: 'POST', headers: { ...headers, 'content-encoding': 'gzip' }, body: gzipSync(body) });
    expect(r.status).toBe(415);
    expect(await r.json()).toMatchObject({ received: false, error: 'unsupported_media_type' });
    expect(gate.stats().invalidations).toBe(invalidations);
  });

  it('acknowledges a replay as a duplicate', async () => {
    const id = randomUUID();
    await emu.sendWebhook(hook, { event: 'subscription-updated', account_ref_id: acc, transaction_id: id });
    const again = await emu.sendWebhook(hook, { event: 'subscription-updated', account_ref_id: acc, transaction_id: id });
    expect(JSON.parse(again.body)).toEqual({ received: true, duplicate: true });
  });
});

describe.each(PLATFORMS)('nest module start-up on %s', (platform) => {
  let gate: Gate;
  beforeAll(() => {
    gate = gateFor(emu);
  });
  afterAll(async () => {
    await gate.close();
  });

  it('fails app.init() with a clear message when the app does not keep the raw body', async () => {
    await expect(createNestApp(platform, gate, { app: { rawBody: false } })).rejects.toThrow(
      /Ecom9Module "webhookPath" needs the raw request body.*NestFactory\.create\(AppModule, \{ rawBody: true \}\)/,
    );
  });

  it('checks it on NestFactory.create too (the adapter is known before the module is built)', async () => {
    const { NestFactory } = await import('@nestjs/core');
    const { FastifyAdapter } = await import('@nestjs/platform-fastify');
    const root = Ecom9Module.forRoot({ gate, accountRefId: () => 'x', webhookPath: '/hooks' });
    const make = (rawBody: boolean) =>
      platform === 'fastify'
        ? NestFactory.create({ module: class {}, imports: [root] } as never, new FastifyAdapter(), { rawBody, logger: false, abortOnError: false })
        : NestFactory.create({ module: class {}, imports: [root] } as never, { rawBody, logger: false, abortOnError: false });
    const off = await make(false);
    await expect(off.init()).rejects.toThrow(/needs the raw request body/);
    await off.close().catch(() => {});
    const on = await make(true);
    await expect(on.init()).resolves.toBe(on);
    await on.close();
  });

  it('serves the webhook route under the global prefix, its 405/415 middleware included', async () => {
    const app = await startNestApp(platform, gate, { prefix: 'api' });
    try {
      const acc = 'nest-prefix-co';
      emu.setAccount(acc, { customerEmail: 'co@example.com', subscriptions: [{ subscription: 'studio-suite', tier: 'pro' }] });
      expect((await emu.sendWebhook(`${app.url}/api/webhooks/ecom9`, { event: 'subscription-updated', account_ref_id: acc })).status).toBe(200);
      expect((await fetch(`${app.url}/api/webhooks/ecom9`)).status).toBe(405);
      expect((await fetch(`${app.url}/webhooks/ecom9`, { method: 'POST' })).status).toBe(404);
    } finally {
      await app.close();
    }
  });

  it(
    platform === 'express'
      ? 'accepts bodyParser: false on Express, reading the unparsed stream'
      : 'refuses bodyParser: false without a raw body on Fastify (it parses JSON itself)',
    async () => {
      const made = createNestApp(platform, gate, { app: { rawBody: false, bodyParser: false } });
      if (platform === 'fastify') return void (await expect(made).rejects.toThrow(/needs the raw request body/));
      const app = await made;
      try {
        await app.listen(0, '127.0.0.1');
        const acc = 'nest-stream-co';
        emu.setAccount(acc, { customerEmail: 'co@example.com', subscriptions: [{ subscription: 'studio-suite', tier: 'pro' }] });
        const r = await emu.sendWebhook(`${(await app.getUrl()).replace('[::1]', '127.0.0.1')}/webhooks/ecom9`, {
          event: 'subscription-updated',
          account_ref_id: acc,
        });
        expect(r.status).toBe(200);
        const forged = await emu.sendWebhook(
          `${(await app.getUrl()).replace('[::1]', '127.0.0.1')}/webhooks/ecom9`,
          { event: 'subscription-updated', account_ref_id: acc },
          { secret: `whsec_${Buffer.from('nope').toString('base64')}` },
        );
        expect(forged.status).toBe(401);
      } finally {
        await app.close();
      }
    },
  );

  it('with globalGuard: false, runs where @UseGuards(AuthGuard, Ecom9Guard) puts it: after the auth guard set req.user', async () => {
    seed();
    gate.invalidate('pro-co');
    gate.invalidate('free-co');
    const app = await startAuthApp(platform, gate, false);
    const global = await startAuthApp(platform, gate, true);
    try {
      const ok = await request(app.server).get('/authed').set('authorization', 'Bearer pro-co');
      expect(ok.status).toBe(200);
      expect(ok.body).toEqual({ account: 'pro-co' });
      expect((await request(app.server).get('/authed').set('authorization', 'Bearer free-co')).status).toBe(403);
      expect((await request(app.server).get('/authed')).status).toBe(403); // the auth guard's own refusal
      expect(emu.callCount('accounts.status')).toBe(2);
      // A decorated route left without the guard fails rather than serving ungated.
      const forgot = await request(app.server).get('/forgot-guard').set('authorization', 'Bearer free-co');
      expect(forgot.status).toBe(500);
      expect(forgotGuardRuns()).toBe(0);
      expect(emu.callCount('accounts.status')).toBe(2);
      // The global guard runs before any controller guard: req.user is not there yet.
      const early = await request(global.server).get('/authed').set('authorization', 'Bearer pro-co');
      expect(early.status).toBe(401);
      expect(JSON.parse(early.text)).toMatchObject({ code: 'account_unresolved' });
      // Global and @UseGuards(Ecom9Guard) both: still one debit.
      const twice = await request(global.server).post('/twice').set('x-account', 'pro-co');
      expect(twice.body).toMatchObject({ credits: { debited: 5, remainingBalance: 7 } });
      expect(emu.callCount('credits.debit')).toBe(1);
      expect(emu.credits('pro-co', 'ai-images', 'credits')).toBe(7);
    } finally {
      await app.close();
      await global.close();
    }
  });
});

describe('nest module options', () => {
  it('refuses a missing gate or resolver and a bad webhook path, naming the option and not echoing values', async () => {
    const gate = gateFor(emu);
    try {
      expect(() => Ecom9Module.forRoot({ gate: { secret: 'sk_live_do_not_echo' } as never, accountRefId: () => 'x' })).toThrow(
        /^ecom9-gate: Ecom9Module\.forRoot "gate" must be a gate from createGate\(\)$/,
      );
      expect(() => Ecom9Module.forRoot({ gate, accountRefId: 'sk_live_do_not_echo' as never })).toThrow(
        /Ecom9Module\.forRoot option "accountRefId" must be a function/,
      );
      const err = (() => {
        try {
          Ecom9Module.forRoot({ gate, accountRefId: () => 'x', webhookPath: 'hooks-no-slash' });
        } catch (e) {
          return e as Error;
        }
      })();
      expect(err?.message).toMatch(/Ecom9Module option "webhookPath" must be a path starting with \//);
      expect(err?.message).not.toContain('hooks-no-slash');
      expect(() => Ecom9Module.forRootAsync({} as never)).toThrow(/forRootAsync option "useFactory" must be a function/);
    } finally {
      await gate.close();
    }
  });

  it('fails start-up when forRootAsync’s factory gives no gate', async () => {
    const { Test } = await import('@nestjs/testing');
    const ref = Test.createTestingModule({
      imports: [Ecom9Module.forRootAsync({ useFactory: () => ({ gate: undefined as never, accountRefId: () => 'x' }) })],
    });
    await expect(ref.compile()).rejects.toThrow(/forRootAsync useFactory result "gate" must be a gate/);
  });
});
