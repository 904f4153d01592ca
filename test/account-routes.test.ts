// The browser's account routes on every adapter, over real HTTP against the emulator: bodies are
// ecom9's, the account is only ever the session's, nothing writes, bad queries never reach ecom9,
// the rate is bounded, the key never leaks, and the events stream hears a webhook (here, or from
// another instance through Redis).
import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Emulator } from 'ecom9-gate/emulator';
import { redisBus } from 'ecom9-gate/redis';
import type { Gate } from 'ecom9-gate';
import { gateFor, manualClock, startEmulator } from './support/env';
import { ROUTE_FRAMEWORKS, startRouteApp, type RouteApp } from './support/account-apps';
import { ensureRedis } from './support/redis';

let emu: Emulator;
beforeAll(async () => {
  emu = await startEmulator();
});
afterAll(async () => {
  await emu.close();
});

const get = (app: RouteApp, path: string, account: string | null = 'acme', init: RequestInit = {}) =>
  fetch(`${app.url}/api/ecom9${path}`, { ...init, headers: { ...(account ? { 'x-account': account } : {}), ...(init.headers as object) } });

/** Reads an events stream until `text` arrives (or the deadline), then stops reading. */
async function waitForText(res: Response, text: string, ms = 3_000): Promise<string> {
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  const dec = new TextDecoder();
  let seen = '';
  const deadline = Date.now() + ms;
  try {
    while (!seen.includes(text)) {
      const left = deadline - Date.now();
      if (left <= 0) break;
      const next = await Promise.race([reader.read(), new Promise<undefined>((r) => setTimeout(() => r(undefined), left))]);
      if (!next || next.done) break;
      seen += dec.decode(next.value);
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
  return seen;
}

// Not Nest: ecom9-gate/nest has no account routes (Ecom9Module serves the decorators' guard and
// interceptor and the webhook route only), so this table has the five adapters that do.
describe.each(ROUTE_FRAMEWORKS)('%s accountRoutes', (framework) => {
  let gate: Gate;
  let app: RouteApp;
  const clock = manualClock();
  beforeAll(async () => {
    gate = gateFor(emu);
    app = await startRouteApp(framework, gate, { rate: { max: 1_000 }, now: clock.now });
  });
  afterAll(async () => {
    await app.close();
    await gate.close();
  });
  afterEach(() => emu.clearFaults());

  // Each route, and what ecom9 answers the same question (through the package's client).
  const cases: Array<[string, (g: Gate) => Promise<unknown>]> = [
    ['/status', (g) => g.client.accounts.status({ accountRefId: 'acme' })],
    ['/status?subscription=studio-suite&tier=pro', (g) => g.client.accounts.status({ accountRefId: 'acme', subscription: 'studio-suite', tier: 'pro' })],
    ['/transactions?page=1&page_size=5', (g) => g.client.transactions.list({ accountRefId: 'acme', page: 1, pageSize: 5 })],
    ['/tiers', (g) => g.client.tiers.list()],
    ['/public-url?product_name=onboarding', (g) => g.client.links.resolvePublicUrl({ accountRefId: 'acme', productName: 'onboarding' })],
    [
      '/public-url?subscription_name=studio-suite&tier_name=enterprise',
      (g) => g.client.links.resolvePublicUrl({ accountRefId: 'acme', subscriptionName: 'studio-suite', tierName: 'enterprise', email: 'ops@acme.example' }),
    ],
    [
      '/fix-subscription?subscription_name=studio-suite&tier_name=pro',
      (g) => g.client.subscriptions.fix({ accountRefId: 'acme', subscriptionName: 'studio-suite', tierName: 'pro' }),
    ],
    [
      '/entitlements/check?product_code=pro-api&entitlement_code=api_access',
      (g) => g.client.entitlements.check({ accountRefId: 'acme', productCode: 'pro-api', entitlementCode: 'api_access' }),
    ],
    [
      '/credits/balance?product_code=ai-images&meter_code=credits',
      (g) => g.client.credits.balance({ accountRefId: 'acme', productCode: 'ai-images', meterCode: 'credits' }),
    ],
    [
      '/usage/summary?product_code=api-access&meter_code=api_calls',
      (g) => g.client.usage.summary({ accountRefId: 'acme', productCode: 'api-access', meterCode: 'api_calls' }),
    ],
  ];

  it.each(cases)('GET %s answers ecom9’s body, private and uncached', async (path, direct) => {
    emu.addTransactions('acme', 3);
    gate.invalidate('acme');
    const res = await get(app, path);
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('private, no-store');
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toEqual(JSON.parse(JSON.stringify(await direct(gate))));
    // Only ecom9's snake_case fields, for this account.
    if (typeof body.account_ref_id === 'string') expect(body.account_ref_id).toBe('acme');
  });

  it('answers 401 without an account, with no call to ecom9', async () => {
    emu.resetCalls();
    const res = await get(app, '/tiers', null);
    expect(res.status).toBe(401);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    expect(((await res.json()) as { code: string }).code).toBe('account_unresolved');
    expect(emu.callCount()).toBe(0);
  });

  it('answers 401 (not a 400 about the query) when the resolver gives a ref ecom9 cannot be asked about', async () => {
    emu.resetCalls();
    for (const ref of ['..', 'x'.repeat(300)]) {
      for (const path of ['/status', '/tiers']) {
        const res = await get(app, path, ref);
        expect(res.status, `${ref.slice(0, 5)} ${path}`).toBe(401);
        expect(((await res.json()) as { code: string }).code).toBe('account_unresolved');
      }
    }
    expect(emu.callCount()).toBe(0);
  });

  it('answers 403 account_mismatch when the query names another account, with no call to ecom9; the same account is accepted', async () => {
    gate.invalidate('acme');
    emu.resetCalls();
    for (const path of ['/status?account_ref_id=globex', '/transactions?account_ref_id=globex&page=1', '/events?account_ref_id=globex']) {
      const res = await get(app, path);
      expect(res.status).toBe(403);
      expect(res.headers.get('cache-control')).toBe('private, no-store');
      expect(((await res.json()) as { code: string }).code).toBe('account_mismatch');
    }
    expect(emu.callCount()).toBe(0);
    const same = await get(app, '/status?account_ref_id=acme');
    expect(same.status).toBe(200);
    expect(((await same.json()) as { account_ref_id: string }).account_ref_id).toBe('acme');
  });

  it('writes nothing: POST, PUT, DELETE and PATCH are 405 with no call to ecom9, no debit and no usage', async () => {
    emu.resetCalls();
    const ledger = emu.ledger.length;
    const usage = emu.usageEvents.length;
    const credits = emu.credits('acme', 'ai-images', 'credits');
    for (const method of ['POST', 'PUT', 'DELETE', 'PATCH']) {
      for (const path of ['/credits/balance?product_code=ai-images&meter_code=credits', '/status', '/usage/summary']) {
        const res = await get(app, path, 'acme', { method });
        expect(res.status, `${method} ${path}`).toBe(405);
        expect(res.headers.get('allow')).toBe('GET');
        expect(res.headers.get('cache-control')).toBe('private, no-store');
      }
    }
    expect(emu.callCount()).toBe(0);
    expect(emu.ledger.length).toBe(ledger);
    expect(emu.usageEvents.length).toBe(usage);
    expect(emu.credits('acme', 'ai-images', 'credits')).toBe(credits);
  });

  it.each([
    ['/transactions?page=0', 'page'],
    ['/transactions?page_size=1000', 'page_size'],
    ['/tiers?page=abc', 'page'],
    ['/usage/summary?product_code=api-access&meter_code=api_calls&start=yesterday', 'start'],
    ['/status?tier=pro', 'subscription'],
    ['/status?subscription=a&subscription=b', 'subscription'],
    ['/entitlements/check?product_code=pro-api', 'entitlement_code'],
    ['/public-url', 'subscription_name'],
    ['/tiers?callback=steal', 'callback'],
  ])('GET %s is a 400 naming %s, with no call to ecom9', async (path, field) => {
    emu.resetCalls();
    const res = await get(app, path);
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    const body = (await res.json()) as Record<string, unknown>;
    expect(body.code).toBe('invalid_query');
    expect(body.fields as string[]).toContain(field);
    expect(body.detail).toContain(field);
    expect(emu.callCount()).toBe(0);
  });

  it('answers an unknown route under the prefix 404 problem+json', async () => {
    const res = await get(app, '/debit');
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    expect(res.headers.get('cache-control')).toBe('private, no-store');
    expect(((await res.json()) as { code: string }).code).toBe('not_found');
  });

  it('answers 503 upstream_unavailable with Retry-After when ecom9 is down, and the key appears nowhere', async () => {
    emu.inject({ endpoint: 'tiers.list', kind: 'status', status: 503 });
    emu.inject({ endpoint: 'transactions.list', kind: 'drop' } as never);
    for (const path of ['/tiers', '/transactions']) {
      const res = await get(app, path);
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toMatch(/^\d+$/);
      const text = await res.text();
      expect(JSON.parse(text).code).toBe('upstream_unavailable');
      expect(text).not.toContain(emu.apiKey);
      expect(JSON.stringify([...res.headers])).not.toContain(emu.apiKey);
    }
  });

  it('answers status through a cache that a signed webhook drops', async () => {
    gate.invalidate('acme');
    emu.resetCalls();
    await (await get(app, '/status')).json();
    await (await get(app, '/status')).json();
    expect(emu.callCount('accounts.status', 'acme')).toBe(1);
    await emu.sendWebhook(`${app.url}/webhooks/ecom9`, { event: 'subscription.updated', account_ref_id: 'acme' });
    await (await get(app, '/status')).json();
    expect(emu.callCount('accounts.status', 'acme')).toBe(2);
  });

  it('sends an invalidate event on the account’s stream after a signed webhook, and none for another account', async () => {
    const mine = await get(app, '/events');
    const theirs = await get(app, '/events', 'globex');
    expect(mine.status).toBe(200);
    expect(mine.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect(mine.headers.get('cache-control')).toBe('private, no-store');
    // Both streams are subscribed once their headers are in (the stream starts before they are sent).
    const heard = waitForText(mine, 'event: invalidate');
    // globex's first invalidate must be the one its own webhook (sent second) causes: a positive
    // signal to wait for, instead of waiting out a silence.
    let ownSent = false;
    const other = waitForText(theirs, 'event: invalidate').then((text) => ({ text, afterOwn: ownSent }));
    await emu.sendWebhook(`${app.url}/webhooks/ecom9`, { event: 'subscription.canceled', account_ref_id: 'acme', transaction_id: randomUUID() });
    expect(await heard).toContain('event: invalidate');
    ownSent = true;
    await emu.sendWebhook(`${app.url}/webhooks/ecom9`, { event: 'subscription.canceled', account_ref_id: 'globex', transaction_id: randomUUID() });
    const theirsSaw = await other;
    expect(theirsSaw.text).toContain('event: invalidate');
    expect(theirsSaw.afterOwn).toBe(true);
  });
});

describe('rate and stream bounds', () => {
  let gate: Gate;
  let app: RouteApp;
  const clock = manualClock();
  beforeAll(async () => {
    gate = gateFor(emu);
    app = await startRouteApp('express', gate, { rate: { max: 3, windowMs: 60_000 }, now: clock.now, maxStreamsPerAccount: 1 });
  });
  afterAll(async () => {
    await app.close();
    await gate.close();
  });

  it('answers 429 with Retry-After past the per-account rate, without calling ecom9; other accounts and the next window go on', async () => {
    for (let i = 0; i < 3; i++) expect((await get(app, '/tiers', 'initech')).status).toBe(200);
    emu.resetCalls();
    const res = await get(app, '/tiers', 'initech');
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe('60');
    expect(((await res.json()) as { code: string }).code).toBe('rate_limited');
    expect(emu.callCount()).toBe(0);
    expect((await get(app, '/tiers', 'globex')).status).toBe(200);
    clock.advance(60_000);
    expect((await get(app, '/tiers', 'initech')).status).toBe(200);
  });

  it('bounds open event streams per account', async () => {
    clock.advance(60_000);
    const first = await get(app, '/events', 'umbrella');
    expect(first.status).toBe(200);
    const second = await get(app, '/events', 'umbrella');
    expect(second.status).toBe(429);
    expect(((await second.json()) as { code: string }).code).toBe('too_many_streams');
    await first.body?.cancel();
  });
});

describe('events across instances (Redis bus)', () => {
  it('a webhook on one instance reaches the stream open on another', async () => {
    const url = await ensureRedis();
    const channel = `account-routes-${randomUUID()}`;
    const a = gateFor(emu, { bus: redisBus({ url, channel }) });
    const b = gateFor(emu, { bus: redisBus({ url, channel }) });
    const appA = await startRouteApp('express', a);
    const appB = await startRouteApp('fastify', b);
    try {
      await new Promise((r) => setTimeout(r, 200)); // both subscribed
      const stream = await get(appA, '/events');
      const heard = waitForText(stream, 'event: invalidate', 5_000);
      await emu.sendWebhook(`${appB.url}/webhooks/ecom9`, { event: 'subscription.canceled', account_ref_id: 'acme' });
      expect(await heard).toContain('event: invalidate');
    } finally {
      await appA.close();
      await appB.close();
      await a.close();
      await b.close();
    }
  });
});

describe('shutdown', () => {
  it.each(['express', 'koa', 'fetch', 'hono'] as const)('%s: gate.close() ends the open events streams, so the server can close', async (fw) => {
    const g = gateFor(emu);
    const app = await startRouteApp(fw, g);
    const stream = await get(app, '/events');
    expect(stream.status).toBe(200);
    const ended = stream.text(); // resolves only once the server ends the stream
    await g.close();
    await ended;
    await app.close();
  });
});
