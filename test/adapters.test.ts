// One table of scenarios, run against Express, Koa, Fastify, fetch, Hono and Nest (on its Express and
// Fastify platforms), so the adapters cannot drift apart.
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import Fastify, { type FastifyInstance } from 'fastify';
import type { Emulator } from 'ecom9-gate/emulator';
import type { Gate } from 'ecom9-gate';
import { expressGate } from 'ecom9-gate/express';
import { fastifyGate, type FastifyDeniedHandler } from 'ecom9-gate/fastify';
import { koaGate } from 'ecom9-gate/koa';
import { gateFor, manualClock, startEmulator } from './support/env';
import { SCENARIO_FRAMEWORKS, seedScenario, startApp, startDeniedApp, testFixtures, type RunningApp } from './support/apps';

let emu: Emulator;
beforeAll(async () => {
  emu = await startEmulator({ fixtures: testFixtures() });
});
afterAll(async () => {
  await emu.close();
});

const seed = () => seedScenario(emu);

const get = (url: string, account?: string, extra: Record<string, string> = {}) =>
  fetch(url, { headers: { ...(account ? { 'x-account': account } : {}), ...extra } });
const post = (url: string, account: string, extra: Record<string, string> = {}) => fetch(url, { method: 'POST', headers: { 'x-account': account, ...extra } });
const json = async (res: Response) => (await res.json()) as Record<string, unknown>;

describe.each(SCENARIO_FRAMEWORKS)('%s adapter', (fw) => {
  let gate: Gate;
  let app: RunningApp;
  let reported: unknown[];

  beforeAll(async () => {
    reported = [];
    gate = gateFor(emu, { onError: (e) => reported.push(e) });
    app = await startApp(fw, gate);
  });
  afterAll(async () => {
    await app.close();
    await gate.close();
  });
  beforeEach(() => {
    seed();
    reported.length = 0;
    for (const a of ['pro-co', 'free-co', 'late-co', 'ghost']) gate.invalidate(a);
  });

  it('allows the right tier and hands the handler its state', async () => {
    const res = await get(`${app.url}/tier`, 'pro-co');
    expect(res.status).toBe(200);
    const body = (await res.json()) as { ecom9: { accountRefId: string; decision: { allowed: boolean; code: string } } };
    expect(body.ecom9.accountRefId).toBe('pro-co');
    expect(body.ecom9.decision).toMatchObject({ allowed: true, code: 'allowed' });
  });

  it('answers a second request from cache: one call reaches ecom9', async () => {
    await get(`${app.url}/tier`, 'pro-co');
    await get(`${app.url}/tier`, 'pro-co');
    await get(`${app.url}/tier`, 'pro-co', { 'x-async': '1' });
    expect(emu.callCount('accounts.status', 'pro-co')).toBe(1);
  });

  it('denies the wrong tier with 403 problem+json naming the tiers required', async () => {
    const res = await get(`${app.url}/tier`, 'free-co');
    expect(res.status).toBe(403);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(await res.json()).toMatchObject({
      status: 403,
      code: 'tier_required',
      title: expect.any(String),
      type: expect.stringContaining('tier_required'),
      required_tiers: ['pro'],
    });
  });

  it('narrows to a subscription', async () => {
    expect((await get(`${app.url}/tier-sub`, 'pro-co')).status).toBe(200);
    expect(emu.calls.find((c) => c.endpoint === 'accounts.status')?.query.subscription).toBe('studio-suite');
  });

  it('puts an upgrade link in the 403 when asked', async () => {
    const res = await get(`${app.url}/links`, 'pro-co');
    expect(res.status).toBe(403);
    const body = (await res.json()) as { upgrade_url?: string };
    expect(body.upgrade_url).toMatch(/^http/);
    // Cached: a second denial costs no further call.
    await get(`${app.url}/links`, 'pro-co');
    expect(emu.callCount('links.resolvePublicUrl', 'pro-co')).toBe(1);
  });

  it('turns a past-due subscription into a 402 with the payment link when asked, fetched once', async () => {
    const res = await get(`${app.url}/pay`, 'late-co');
    expect(res.status).toBe(402);
    expect(await res.json()).toMatchObject({ code: 'payment_required', payment_url: expect.stringMatching(/^http/) });
    const again = await get(`${app.url}/pay`, 'late-co');
    expect(await again.json()).toMatchObject({ code: 'payment_required', payment_url: expect.stringMatching(/^http/) });
    expect(emu.callCount('subscriptions.fix', 'late-co')).toBe(1);
    const plain = await get(`${app.url}/tier`, 'late-co');
    expect(plain.status).toBe(403);
  });

  it('asks for no link and puts none in a denial unless asked (links off by default)', async () => {
    for (const account of ['free-co', 'late-co']) {
      const res = await get(`${app.url}/tier`, account);
      expect(res.status).toBe(403);
      const body = await json(res);
      expect(body.upgrade_url).toBeUndefined();
      expect(body.payment_url).toBeUndefined();
    }
    expect(emu.callCount('links.resolvePublicUrl')).toBe(0);
    expect(emu.callCount('subscriptions.fix')).toBe(0);
  });

  it('denies a missing entitlement with 403 naming product and entitlement', async () => {
    expect((await get(`${app.url}/ent`, 'pro-co')).status).toBe(200);
    const res = await get(`${app.url}/ent`, 'free-co');
    expect(res.status).toBe(403);
    expect(await res.json()).toMatchObject({ code: 'entitlement_required', product: 'pro-api', entitlement: 'api_access' });
  });

  // One resolver policy on every adapter (resolverError 'deny', the default): a throw is a 401, reported.
  it('answers 401 account_unresolved when no account is found, the resolver throws or returns a non-string', async () => {
    for (const account of [undefined, 'throw', 'number']) {
      const res = await get(`${app.url}/tier`, account);
      expect(res.status).toBe(401);
      expect(await res.json()).toMatchObject({ code: 'account_unresolved' });
    }
    expect(reported.some((e) => (e as Error).message === 'resolver exploded')).toBe(true);
  });

  it('answers 401 account_unresolved when an async resolver rejects, and reports it', async () => {
    for (const path of ['/tier', '/images']) {
      const res = path === '/images' ? await post(`${app.url}${path}`, 'reject') : await get(`${app.url}${path}`, 'reject');
      expect(res.status).toBe(401);
      expect(await res.json()).toMatchObject({ code: 'account_unresolved' });
    }
    expect(reported.filter((e) => (e as Error).message === 'resolver rejected')).toHaveLength(2);
    expect(emu.callCount()).toBe(0);
  });

  it('lets onDenied answer instead', async () => {
    const res = await get(`${app.url}/custom`, 'pro-co');
    expect(res.status).toBe(418);
    expect(await res.json()).toEqual({ custom: true, code: 'tier_required' });
  });

  it("lets onDenied send the request on with next(), the denial in the handler's state", async () => {
    const res = await get(`${app.url}/soft`, 'pro-co');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ code: 'tier_required' });
  });

  // Cold: the check asks ecom9 (async path); warm: answered from the cache (sync path); a charge is always async.
  it.each([
    ['throws', 'tier, cold', 'throw'],
    ['throws', 'tier, warm', 'throw'],
    ['throws', 'charge', 'throw'],
    ['rejects', 'tier, cold', 'reject'],
    ['rejects', 'tier, warm', 'reject'],
    ['rejects', 'charge', 'reject'],
  ])("hands an onDenied that %s (%s) to the app's error handler", async (_how, where, boom) => {
    const headers = { 'x-boom': boom };
    if (where === 'tier, warm') await get(`${app.url}/tier`, 'free-co'); // caches free-co's tiers
    const res = where === 'charge' ? await post(`${app.url}/boom-charge`, 'pro-co', headers) : await get(`${app.url}/boom-tier`, 'free-co', headers);
    expect(res.status).toBe(500);
    expect(await res.json()).toEqual({ error: boom === 'throw' ? 'onDenied threw' : 'onDenied rejected', handledBy: 'app' });
    if (where !== 'charge') expect(emu.callCount('accounts.status', 'free-co')).toBe(1);
  });

  if (fw === 'express' || fw === 'fastify') {
    it('continues once when onDenied calls next() and then throws, and reports the throw', async () => {
      const res = await get(`${app.url}/next-then-throw`, 'free-co');
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ ran: true });
      expect(reported.some((e) => (e as Error).message === 'after next')).toBe(true);
    });
  }

  it('debits credits before the handler and exposes the result', async () => {
    const res = await post(`${app.url}/images`, 'pro-co');
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ credits: { debited: 5, remainingBalance: 7 } });
    expect(emu.credits('pro-co', 'ai-images', 'credits')).toBe(7);
  });

  it('answers 402 with the balance, the quantity asked and the top-up link when short', async () => {
    const res = await post(`${app.url}/images/50`, 'pro-co');
    expect(res.status).toBe(402);
    expect(await res.json()).toMatchObject({
      code: 'insufficient_credits',
      remaining_balance: 12,
      requested: 50,
      top_up_url: 'https://billing.example.com/top-up',
    });
    expect(emu.credits('pro-co', 'ai-images', 'credits')).toBe(12);
  });

  it('charges a retried request with the same Idempotency-Key once', async () => {
    const key = { 'idempotency-key': `retry-${fw}` };
    const a = await post(`${app.url}/images`, 'pro-co', key);
    const b = await post(`${app.url}/images`, 'pro-co', key);
    expect([a.status, b.status]).toEqual([200, 200]);
    expect(emu.credits('pro-co', 'ai-images', 'credits')).toBe(7);
    // Another key is another charge.
    await post(`${app.url}/images`, 'pro-co', { 'idempotency-key': `other-${fw}` });
    expect(emu.credits('pro-co', 'ai-images', 'credits')).toBe(2);
  });

  it('charges the same Idempotency-Key again from another account; on another route it is 422, charging nothing', async () => {
    const key = { 'idempotency-key': `scoped-${fw}` };
    expect((await post(`${app.url}/images`, 'pro-co', key)).status).toBe(200);
    expect((await post(`${app.url}/images`, 'free-co', key)).status).toBe(200);
    const other = await post(`${app.url}/images-again`, 'pro-co', key);
    expect(other.status).toBe(422);
    expect(await other.json()).toMatchObject({ code: 'idempotency_key_mismatch' });
    expect(emu.credits('pro-co', 'ai-images', 'credits')).toBe(12 - 5);
    expect(emu.credits('free-co', 'ai-images', 'credits')).toBe(12 - 5);
  });

  it('answers 422 to a reused Idempotency-Key on a dearer request, never replaying the cheap one', async () => {
    const key = { 'idempotency-key': `cheap-then-dear-${fw}` };
    expect((await post(`${app.url}/images/1`, 'pro-co', key)).status).toBe(200);
    const retry = await post(`${app.url}/images/1`, 'pro-co', key);
    expect(retry.status).toBe(200);
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
    expect(emu.credits('pro-co', 'ai-images', 'credits')).toBe(12 - 1);
    expect((await post(`${app.url}/images/10`, 'pro-co', key)).status).toBe(422);
    expect(emu.credits('pro-co', 'ai-images', 'credits')).toBe(12 - 1);
  });

  it('charges both products of one route under one Idempotency-Key, and a retry neither again', async () => {
    const key = { 'idempotency-key': `two-products-${fw}` };
    const first = await post(`${app.url}/gen`, 'pro-co', key);
    expect(first.status).toBe(200);
    // The state is the last charge's: ai-video's own figures, not a replay of ai-images'.
    const body = await first.text();
    expect(JSON.parse(body)).toMatchObject({ credits: { debited: 7, remainingBalance: 13 } });
    const retry = await post(`${app.url}/gen`, 'pro-co', key);
    expect(retry.status).toBe(200);
    expect(await retry.text()).toBe(body);
    expect(emu.credits('pro-co', 'ai-images', 'credits')).toBe(12 - 5);
    expect(emu.credits('pro-co', 'ai-video', 'credits')).toBe(20 - 7);
  });

  it('answers 400 invalid_quantity to a computed quantity that is not a whole number, charging nothing', async () => {
    for (const n of ['abc', '1.5', '-3']) {
      const res = await post(`${app.url}/images/${n}`, 'pro-co');
      expect(res.status).toBe(400);
      expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(await res.json()).toMatchObject({ status: 400, code: 'invalid_quantity', product: 'ai-images', meter: 'credits' });
    }
    expect(emu.callCount('credits.debit')).toBe(0);
    expect(emu.credits('pro-co', 'ai-images', 'credits')).toBe(12);
  });

  it('lets a computed quantity of 0 through without a debit', async () => {
    const res = await post(`${app.url}/images/0`, 'pro-co');
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ credits: { debited: 0 } });
    expect(emu.callCount('credits.debit')).toBe(0);
  });

  it('meters exactly the successful requests, with the quantity a function gives', async () => {
    const before = emu.usageTotal('pro-co', 'api-access', 'api_calls');
    const queued = gate.stats().usageQueued;
    for (let i = 0; i < 3; i++) expect((await get(`${app.url}/metered`, 'pro-co')).status).toBe(200);
    expect((await get(`${app.url}/metered-fail`, 'pro-co')).status).toBe(500);
    expect((await get(`${app.url}/metered-weighted`, 'pro-co')).status).toBe(200);
    // Recorded once each response has closed (the 500 closed before the next request was made).
    await vi.waitFor(() => expect(gate.stats().usageQueued - queued).toBe(4));
    await gate.flush();
    expect(emu.usageTotal('pro-co', 'api-access', 'api_calls') - before).toBe(3 + 7);
  });

  it('does not meter a request the client aborted, and meters the same request answered', async () => {
    const before = emu.usageTotal('pro-co', 'api-access', 'api_calls');
    const queued = gate.stats().usageQueued;
    // Aborted while held in its handler: the meter's close listener ran before the handler's.
    const aborted = app.hold();
    const ctl = new AbortController();
    const pending = fetch(`${app.url}/metered-held`, { headers: { 'x-account': 'pro-co' }, signal: ctl.signal }).catch(() => 'aborted');
    await aborted.reached.promise;
    ctl.abort();
    expect(await pending).toBe('aborted');
    await aborted.closed.promise;
    aborted.release.resolve();
    expect(gate.stats().usageQueued - queued).toBe(0);
    // The same route, answered: metered, so the abort above was what made the difference.
    const answered = app.hold();
    const ok = get(`${app.url}/metered-held`, 'pro-co');
    await answered.reached.promise;
    answered.release.resolve();
    expect((await ok).status).toBe(200);
    await answered.closed.promise;
    // fetch and Hono record when the body has been sent to its end, a moment after the handler is done.
    await vi.waitFor(() => expect(gate.stats().usageQueued - queued).toBe(1));
    await gate.flush();
    expect(emu.usageTotal('pro-co', 'api-access', 'api_calls') - before).toBe(1);
  });

  it('meters each meter on a route once, with one Idempotency-Key (two meterUsage, retried)', async () => {
    const calls = emu.usageTotal('pro-co', 'api-access', 'api_calls');
    const toks = emu.usageTotal('pro-co', 'api-access', 'tokens');
    const queued = gate.stats().usageQueued;
    const key = { 'idempotency-key': `meter-${fw}` };
    for (let i = 0; i < 2; i++) expect((await get(`${app.url}/metered-two`, 'pro-co', key)).status).toBe(200);
    await vi.waitFor(() => expect(gate.stats().usageQueued - queued).toBe(4));
    await gate.flush();
    expect(emu.usageTotal('pro-co', 'api-access', 'api_calls') - calls).toBe(1);
    expect(emu.usageTotal('pro-co', 'api-access', 'tokens') - toks).toBe(100);
  });

  it('reports and skips a computed meter quantity that is not a whole number', async () => {
    const queued = gate.stats().usageQueued;
    expect((await get(`${app.url}/metered-bad`, 'pro-co')).status).toBe(200);
    await vi.waitFor(() => expect(reported.some((e) => /meterUsage "quantity"/.test((e as Error).message))).toBe(true));
    expect(gate.stats().usageQueued - queued).toBe(0);
  });

  it('answers 503 with Retry-After when ecom9 is down and nothing is cached', async () => {
    emu.inject({ endpoint: 'accounts.status', kind: 'status', status: 503 });
    const res = await get(`${app.url}/tier`, 'pro-co');
    expect(res.status).toBe(503);
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await res.json()).toMatchObject({ code: 'upstream_unavailable' });
  });

  it('serves the cached decision, stale, when ecom9 goes down after it was cached', async () => {
    const clock = manualClock();
    const clockGate = gateFor(emu, { now: clock.now });
    const local = await startApp(fw, clockGate);
    try {
      expect((await get(`${local.url}/tier`, 'pro-co')).status).toBe(200);
      clock.advance(120_000);
      emu.inject({ endpoint: 'accounts.status', kind: 'status', status: 503 });
      const res = await get(`${local.url}/tier`, 'pro-co');
      expect(res.status).toBe(200);
      expect(((await res.json()) as { ecom9: { decision: { source: string } } }).ecom9.decision.source).toBe('stale');
    } finally {
      await local.close();
      await clockGate.close();
    }
  });
});

describe.each(SCENARIO_FRAMEWORKS)('%s adapter-level onDenied', (fw) => {
  let gate: Gate;
  let app: RunningApp;
  beforeAll(async () => {
    gate = gateFor(emu);
    app = await startDeniedApp(fw, gate);
  });
  afterAll(async () => {
    await app.close();
    await gate.close();
  });
  beforeEach(seed);

  it("answers every middleware's denial, checks and charges alike, unless the route has its own", async () => {
    const tier = await get(`${app.url}/tier`, 'free-co');
    expect(tier.status).toBe(451);
    expect(await tier.json()).toEqual({ adapterLevel: true, code: 'tier_required' });
    const charge = await post(`${app.url}/charge`, 'pro-co');
    expect(charge.status).toBe(451);
    expect(await charge.json()).toEqual({ adapterLevel: true, code: 'insufficient_credits' });
    const own = await get(`${app.url}/override`, 'free-co');
    expect(own.status).toBe(418);
    expect(await own.json()).toEqual({ custom: true, code: 'tier_required' });
    expect(emu.credits('pro-co', 'ai-images', 'credits')).toBe(12);
  });

  // resolverError 'throw': the framework's own error answer (fetch, which has none: a 500 problem).
  it.each(['throw', 'reject'])('sends a resolver that %ss to the error path: 500, never the route, nothing charged', async (how) => {
    for (const res of [await get(`${app.url}/tier`, how), await post(`${app.url}/charge`, how)]) {
      expect(res.status).toBe(500);
      expect(await res.text()).not.toContain('ran');
    }
    expect(emu.callCount()).toBe(0);
    expect(emu.credits('pro-co', 'ai-images', 'credits')).toBe(12);
  });
});

describe('fastify onDenied never lets the request through on its behalf', () => {
  let gate: Gate;
  let app: FastifyInstance;
  let url: string;
  let handlerRuns = 0;

  beforeAll(async () => {
    gate = gateFor(emu);
    app = Fastify();
    // Like @fastify/compress: the reply is not finished when onDenied returns.
    app.addHook('onSend', async (_req, _reply, payload) => {
      await new Promise((r) => setImmediate(r));
      return payload;
    });
    await app.register(fastifyGate, { gate, accountRefId: (req) => req.headers['x-account'] });
    const f = app.ecom9;
    const gated = async () => {
      handlerRuns++;
      return { secret: 'gated content' };
    };
    // Sends without returning reply.
    const sendsOnly: FastifyDeniedHandler = (_q, reply) => void reply.code(418).send({ denied: true });
    // Neither answers nor calls next now; answers a little later.
    const answersLater: FastifyDeniedHandler = (_q, reply) => void setImmediate(() => reply.code(418).send({ denied: 'later' }));
    app.get('/sends', { preHandler: f.requireTier('enterprise', { onDenied: sendsOnly }) }, gated);
    app.get('/later', { preHandler: f.requireTier('enterprise', { onDenied: answersLater }) }, gated);
    app.get('/returns', { preHandler: f.requireTier('enterprise', { onDenied: (_q, reply) => reply.code(418).send({ denied: true }) }) }, gated);
    app.post('/charge', { preHandler: f.chargeCredits({ product: 'ai-images', meter: 'credits', quantity: 50, onDenied: sendsOnly }) }, gated);
    url = await app.listen({ port: 0, host: '127.0.0.1' });
  });
  afterAll(async () => {
    await app.close();
    await gate.close();
  });
  beforeEach(() => {
    seed();
    gate.invalidate('pro-co');
    handlerRuns = 0;
  });

  it('runs no handler when onDenied sends without returning reply, while an async onSend hook is still at work (cold and warm)', async () => {
    for (let i = 0; i < 2; i++) {
      const res = await get(`${url}/sends`, 'pro-co');
      expect(res.status).toBe(418);
      expect(await res.json()).toEqual({ denied: true });
    }
    expect(emu.callCount('accounts.status', 'pro-co')).toBe(1);
    const charge = await post(`${url}/charge`, 'pro-co');
    expect(charge.status).toBe(418);
    expect(handlerRuns).toBe(0);
  });

  it('runs no handler when onDenied neither answers nor calls next, and waits for its answer', async () => {
    const res = await get(`${url}/later`, 'pro-co');
    expect(res.status).toBe(418);
    expect(await res.json()).toEqual({ denied: 'later' });
    expect(handlerRuns).toBe(0);
  });

  it('waits for a returned reply', async () => {
    const res = await get(`${url}/returns`, 'pro-co');
    expect(res.status).toBe(418);
    expect(handlerRuns).toBe(0);
  });
});

describe('adapter options', () => {
  it('refuses a missing gate or resolver, naming the option and not echoing values', async () => {
    const gate = gateFor(emu);
    try {
      expect(() => expressGate(undefined as never, { accountRefId: () => 'x' })).toThrow(/expressGate "gate" must be a gate from createGate\(\)/);
      expect(() => koaGate({ secret: 'sk_live_do_not_echo' } as never, { accountRefId: () => 'x' })).toThrow(/koaGate "gate" must be a gate/);
      expect(() => koaGate(gate, { accountRefId: 'sk_live_do_not_echo' as never })).toThrow(/koaGate option "accountRefId" must be a function/);
      const fastify = Fastify();
      await expect(fastify.register(fastifyGate, { gate: undefined as never, accountRefId: () => 'x' })).rejects.toThrow(/fastifyGate "gate" must be a gate/);
      await fastify.close();
    } finally {
      await gate.close();
    }
  });

  it('refuses a webhook path that does not start with /, in Koa and Fastify alike', async () => {
    const gate = gateFor(emu);
    try {
      expect(() => koaGate(gate, { accountRefId: () => 'x' }).webhookRouter({ path: 'hooks-no-slash' })).toThrow(
        /koa webhookRouter option "path" must be a path/,
      );
      const fastify = Fastify();
      const err = await fastify.register(fastifyGate, { gate, accountRefId: () => 'x', webhookPath: 'hooks-no-slash' }).then(
        () => undefined,
        (e: Error) => e,
      );
      expect(err?.message).toMatch(/fastifyGate option "webhookPath" must be a path starting with \//);
      expect(err?.message).not.toContain('hooks-no-slash');
      await fastify.close();
    } finally {
      await gate.close();
    }
  });
});
