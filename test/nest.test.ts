// What only ecom9-gate/nest has, on both Nest platforms (Express, Fastify), over real HTTP against the
// emulator: undecorated and inherited routes, controller-level decorators, exception filters, the
// metering interceptor after guards, forRootAsync, the module's start-up checks and auth-guard order.
// The scenario and webhook tables (adapters.test.ts, webhook-adapters.test.ts) run Nest like every
// other adapter; nothing here repeats them.
import request from 'supertest';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Emulator } from 'ecom9-gate/emulator';
import type { Gate } from 'ecom9-gate';
import { Ecom9Module } from 'ecom9-gate/nest';
import { gateFor, startEmulator } from './support/env';
import { seedScenario, testFixtures } from './support/apps';
import { createNestApp, PLATFORMS, startNestApp, type RunningNest } from './support/nest-app';
import { forgotGuardRuns, NEST_ONLY_CONTROLLERS, startAuthApp } from './support/nest-controllers';

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
  const get = (path: string, account?: string) =>
    request(app.server)
      .get(path)
      .set(account ? { 'x-account': account } : {});
  const post = (path: string, account: string) => request(app.server).post(path).set({ 'x-account': account });

  beforeAll(async () => {
    gate = gateFor(emu, { onError: () => {} });
    app = await startNestApp(platform, gate, { controllers: NEST_ONLY_CONTROLLERS });
  });
  afterAll(async () => {
    await app.close();
    await gate.close();
  });
  beforeEach(() => {
    seed();
    for (const a of ['pro-co', 'free-co']) gate.invalidate(a);
  });

  it('leaves a route without a decorator alone: no call reaches ecom9', async () => {
    const res = await get('/open', 'pro-co');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ open: true });
    expect((await get('/open')).status).toBe(200);
    expect(emu.callCount()).toBe(0);
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

  it("sends a quantity function that throws to Nest's exception filters (the app's 500), never an allow, charging nothing", async () => {
    const res = await post('/charge-throws', 'pro-co');
    expect(res.status).toBe(500);
    expect(res.body).toEqual({ error: 'quantity exploded', handledBy: 'app' });
    expect(emu.callCount('credits.debit')).toBe(0);
  });

  it('meters after the guards and the handler: neither a handler that throws (404) nor a request a guard refused', async () => {
    const before = emu.usageTotal('pro-co', 'api-access', 'api_calls');
    const queued = gate.stats().usageQueued;
    expect((await get('/metered-missing', 'pro-co')).status).toBe(404);
    expect((await get('/tier-metered', 'free-co')).status).toBe(403);
    expect((await get('/tier-metered', 'pro-co')).status).toBe(200);
    await vi.waitFor(() => expect(gate.stats().usageQueued - queued).toBe(1));
    await gate.flush();
    expect(emu.usageTotal('pro-co', 'api-access', 'api_calls') - before).toBe(1);
    expect(emu.usageTotal('free-co', 'api-access', 'api_calls')).toBe(0);
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
  const tier = () => fetch(`${app.url}/tier`, { headers: { 'x-account': acc } }).then((r) => r.status);

  beforeAll(async () => {
    gate = gateFor(emu);
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

  it('with forRootAsync (the gate from an injected provider), gates routes and serves the webhook route with its handlers', async () => {
    expect(await tier()).toBe(403);
    emu.setSubscription(acc, 'studio-suite', 'pro', 'active');
    const r = await emu.sendWebhook(hook, { event: 'subscription-updated', account_ref_id: acc });
    expect(r.status).toBe(200);
    expect(await tier()).toBe(200);
    expect(seen).toContain('subscription-updated');
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

  // The route reads its own body at the path Nest registers it at: a body Nest's parser would refuse
  // (400, not JSON) is the route's 413; on Express also with the trailing slash its router accepts
  // (Fastify follows its ignoreTrailingSlash).
  it('serves the webhook route under the global prefix, reading its own body there', async () => {
    const app = await startNestApp(platform, gate, { prefix: 'api' });
    try {
      const acc = 'nest-prefix-co';
      emu.setAccount(acc, { customerEmail: 'co@example.com', subscriptions: [{ subscription: 'studio-suite', tier: 'pro' }] });
      expect((await emu.sendWebhook(`${app.url}/api/webhooks/ecom9`, { event: 'subscription-updated', account_ref_id: acc })).status).toBe(200);
      expect((await fetch(`${app.url}/api/webhooks/ecom9`)).status).toBe(405);
      for (const path of platform === 'express' ? ['/api/webhooks/ecom9', '/api/webhooks/ecom9/'] : ['/api/webhooks/ecom9']) {
        const big = await fetch(`${app.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: 'x'.repeat(80 * 1024) });
        expect(big.status).toBe(413);
        expect(await big.json()).toMatchObject({ received: false, error: 'payload_too_large' });
      }
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
