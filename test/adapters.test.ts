// One table of scenarios, run against Express, Koa and Fastify, so the adapters cannot drift apart.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Emulator } from 'ecom9-gate/emulator';
import type { Gate } from 'ecom9-gate';
import { gateFor, manualClock, startEmulator } from './support/env';
import { FRAMEWORKS, startApp, type RunningApp } from './support/apps';

let emu: Emulator;
beforeAll(async () => {
  emu = await startEmulator();
});
afterAll(async () => {
  await emu.close();
});

function seed() {
  emu.clearFaults();
  emu.setAccount('pro-co', { customerEmail: 'pro@example.com', subscriptions: [{ subscription: 'studio-suite', tier: 'pro' }] });
  emu.setAccount('free-co', { customerEmail: 'free@example.com', subscriptions: [{ subscription: 'studio-suite', tier: 'starter' }] });
  emu.setAccount('late-co', { customerEmail: 'late@example.com', subscriptions: [{ subscription: 'studio-suite', tier: 'pro', state: 'past_due' }] });
  emu.setEntitlement('pro-co', 'pro-api', 'api_access', true);
  emu.setCredits('pro-co', 'ai-images', 'credits', 12);
  emu.resetCalls();
}

const get = (url: string, account?: string, extra: Record<string, string> = {}) =>
  fetch(url, { headers: { ...(account ? { 'x-account': account } : {}), ...extra } });
const post = (url: string, account: string, extra: Record<string, string> = {}) => fetch(url, { method: 'POST', headers: { 'x-account': account, ...extra } });

describe.each(FRAMEWORKS)('%s adapter', (fw) => {
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

  it('turns a past-due subscription into a 402 with the payment link when asked', async () => {
    const res = await get(`${app.url}/pay`, 'late-co');
    expect(res.status).toBe(402);
    expect(await res.json()).toMatchObject({ code: 'payment_required', payment_url: expect.stringMatching(/^http/) });
    const plain = await get(`${app.url}/tier`, 'late-co');
    expect(plain.status).toBe(403);
  });

  it('denies a missing entitlement with 403 naming product and entitlement', async () => {
    expect((await get(`${app.url}/ent`, 'pro-co')).status).toBe(200);
    const res = await get(`${app.url}/ent`, 'free-co');
    expect(res.status).toBe(403);
    expect(await res.json()).toMatchObject({ code: 'entitlement_required', product: 'pro-api', entitlement: 'api_access' });
  });

  it('answers 401 account_unresolved when no account is found, the resolver throws or returns a non-string', async () => {
    for (const account of [undefined, 'throw', 'number']) {
      const res = await get(`${app.url}/tier`, account);
      expect(res.status).toBe(401);
      expect(await res.json()).toMatchObject({ code: 'account_unresolved' });
    }
    expect(reported.some((e) => (e as Error).message === 'resolver exploded')).toBe(true);
  });

  it('lets onDenied answer instead', async () => {
    const res = await get(`${app.url}/custom`, 'pro-co');
    expect(res.status).toBe(418);
    expect(await res.json()).toEqual({ custom: true, code: 'tier_required' });
  });

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

  it('meters exactly the successful requests, with the quantity a function gives', async () => {
    const before = emu.usageTotal('pro-co', 'api-access', 'api_calls');
    for (let i = 0; i < 3; i++) expect((await get(`${app.url}/metered`, 'pro-co')).status).toBe(200);
    expect((await get(`${app.url}/metered-fail`, 'pro-co')).status).toBe(500);
    expect((await get(`${app.url}/metered-weighted`, 'pro-co')).status).toBe(200);
    await new Promise((r) => setTimeout(r, 20));
    await gate.flush();
    expect(emu.usageTotal('pro-co', 'api-access', 'api_calls') - before).toBe(3 + 7);
  });

  it('does not meter a request the client aborted', async () => {
    const before = emu.usageTotal('pro-co', 'api-access', 'api_calls');
    const ctl = new AbortController();
    const pending = fetch(`${app.url}/metered-slow`, { headers: { 'x-account': 'pro-co' }, signal: ctl.signal }).catch(() => 'aborted');
    await new Promise((r) => setTimeout(r, 100));
    ctl.abort();
    expect(await pending).toBe('aborted');
    await new Promise((r) => setTimeout(r, 400));
    await gate.flush();
    expect(emu.usageTotal('pro-co', 'api-access', 'api_calls') - before).toBe(0);
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
