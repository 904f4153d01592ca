// The emulator over raw HTTP, as any client would see it: auth, error bodies, pagination, idempotency,
// summaries, SaaS-only links, fix-subscription, fixtures, faults and signed webhooks.
import { createServer, request, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEmulator, type Emulator } from 'ecom9-gate/emulator';
import { startEmulator } from './support/env';

let emu: Emulator;
let auth: Record<string, string>;
beforeAll(async () => {
  emu = await startEmulator();
  auth = { authorization: `Bearer ${emu.apiKey}` };
});
afterAll(async () => {
  await emu.close();
});

const api = (path: string, init: RequestInit = {}) =>
  fetch(new URL(path, emu.url), { ...init, headers: { ...auth, ...(init.headers as Record<string, string>) } });
const post = (path: string, body: unknown) => api(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

/** A GET whose path goes out byte for byte: fetch and URL would resolve dot segments first. */
function rawGet(path: string): Promise<{ status: number; body: string }> {
  const { hostname, port } = new URL(emu.url);
  return new Promise((resolve, reject) => {
    const req = request({ host: hostname, port, path, headers: auth }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('auth and errors', () => {
  it('accepts either header and answers 401 {detail} otherwise', async () => {
    expect((await fetch(new URL('tiers/', emu.url), { headers: { 'x-api-key': emu.apiKey } })).status).toBe(200);
    expect((await fetch(new URL('tiers/', emu.url), { headers: { authorization: `Bearer ${emu.apiKey}` } })).status).toBe(200);
    const none = await fetch(new URL('tiers/', emu.url));
    expect(none.status).toBe(401);
    expect(await none.json()).toHaveProperty('detail');
    const wrong = await fetch(new URL('tiers/', emu.url), { headers: { 'x-api-key': 'nope' } });
    expect(await wrong.json()).toEqual({ detail: 'Invalid API key' });
  });

  it('answers 404 {error} and 400 {field: [messages]}', async () => {
    const nf = await api('account/nobody/status/');
    expect(nf.status).toBe(404);
    expect(await nf.json()).toEqual({ error: 'Account not found or invalid subscription tier' });
    const bad = await api('entitlements/check/?account_ref_id=acme');
    expect(bad.status).toBe(400);
    expect(await bad.json()).toEqual({ product_code: ['This field is required.'], entitlement_code: ['This field is required.'] });
    const tierOnly = await api('account/acme/status/?tier=pro');
    expect(tierOnly.status).toBe(400);
  });

  it('does not resolve dot segments into another endpoint, sent raw (fetch normalised them away, so the old test could not fail)', async () => {
    // Accounts with those very names: were a dot segment taken as a ref, these would answer 200.
    for (const ref of ['.', '..']) emu.setAccount(ref, { customerEmail: 'dot@example.com', subscriptions: [{ subscription: 'studio-suite', tier: 'pro' }] });
    emu.resetCalls();
    const paths = ['/api/account/../status/', '/api/account/./status/', '/api/account/%2e%2e/status/', '/api/account/%2E/status/', '/api/transactions/%2e%2E/'];
    for (const path of paths) {
      const res = await rawGet(path);
      expect([path, res.status, JSON.parse(res.body)]).toEqual([path, 404, { detail: 'Not found.' }]);
    }
    expect(emu.calls.map((c) => [c.path, c.endpoint])).toEqual(paths.map((p) => [p, 'unknown']));
    emu.removeAccount('.');
    emu.removeAccount('..');
  });

  it('accepts the Bearer scheme in any case (a lowercase "bearer" got 401 "not provided")', async () => {
    for (const scheme of ['bearer', 'BEARER', 'Bearer']) {
      expect((await fetch(new URL('tiers/', emu.url), { headers: { authorization: `${scheme} ${emu.apiKey}` } })).status).toBe(200);
    }
    expect((await fetch(new URL('tiers/', emu.url), { headers: { authorization: 'bearer nope' } })).status).toBe(401);
  });

  it('injected 400, 404 and 204 statuses answer with the documented bodies (they all sent {detail})', async () => {
    emu.inject({ endpoint: 'tiers.list', kind: 'status', status: 404, times: 1 });
    const nf = await api('tiers/');
    expect([nf.status, await nf.json()]).toEqual([404, { error: 'Injected failure' }]);
    emu.inject({ endpoint: 'tiers.list', kind: 'status', status: 400, times: 1 });
    const bad = await api('tiers/');
    expect([bad.status, await bad.json()]).toEqual([400, { non_field_errors: ['Injected failure'] }]);
    emu.inject({ endpoint: 'tiers.list', kind: 'status', status: 204, times: 1 });
    const empty = await api('tiers/');
    expect([empty.status, await empty.text()]).toEqual([204, '']);
    emu.inject({ endpoint: 'tiers.list', kind: 'status', status: 503, times: 1 });
    expect(await (await api('tiers/')).json()).toEqual({ detail: 'Injected failure' });
    emu.inject({ endpoint: 'tiers.list', kind: 'status', status: 200, body: null, times: 1 });
    expect(await (await api('tiers/')).text()).toBe('null');
  });
});

describe('endpoints', () => {
  it('paginates with absolute next/previous links', async () => {
    emu.setAccount('pager', { customerEmail: 'p@example.com' });
    emu.addTransactions('pager', 5);
    const p2 = (await (await api('transactions/pager/?page=2&page_size=2')).json()) as { next: string; previous: string; results: unknown[]; count: number };
    expect(p2.count).toBe(5);
    expect(p2.results).toHaveLength(2);
    const next = (await (await fetch(p2.next, { headers: auth })).json()) as { next: null; results: unknown[] };
    expect(next.results).toHaveLength(1);
    expect(next.next).toBeNull();
    expect(p2.previous).toMatch(/page=1/);
    expect((await api('transactions/pager/?page_size=101')).status).toBe(400);
    expect((await api('transactions/pager/?page=9')).status).toBe(404);
  });

  it('debits and records usage once per event_key', async () => {
    emu.setAccount('idem', { customerEmail: 'i@example.com' });
    emu.setCredits('idem', 'ai-images', 'credits', 10);
    const debit = { account_ref_id: 'idem', product_code: 'ai-images', meter_code: 'credits', quantity: 4, event_key: 'once' };
    expect(await (await post('usage/credits/debit/', debit)).json()).toEqual({ approved: true, debited: 4, remaining_balance: 6 });
    expect(await (await post('usage/credits/debit/', debit)).json()).toEqual({ approved: true, debited: 4, remaining_balance: 6 });
    expect(emu.credits('idem', 'ai-images', 'credits')).toBe(6);
    const usage = { account_ref_id: 'idem', product_code: 'api-access', meter_code: 'api_calls', quantity: 2, event_key: 'u' };
    expect(await (await post('usage/events/', usage)).json()).toEqual({ accepted: true, recorded_quantity: 2, idempotent: false });
    expect(await (await post('usage/events/', usage)).json()).toEqual({ accepted: true, recorded_quantity: 2, idempotent: true });
    expect(emu.usageTotal('idem', 'api-access', 'api_calls')).toBe(2);
    // A refused debit is an answer too: the same key stays refused after a top-up, and is in the ledger.
    const big = { ...debit, quantity: 50, event_key: 'too-big' };
    expect(await (await post('usage/credits/debit/', big)).json()).toEqual({ approved: false, error_code: 'insufficient_credits', remaining_balance: 6 });
    emu.setCredits('idem', 'ai-images', 'credits', 100);
    expect(await (await post('usage/credits/debit/', big)).json()).toEqual({ approved: false, error_code: 'insufficient_credits', remaining_balance: 6 });
    expect(emu.ledger.filter((r) => r.accountRefId === 'idem').map((r) => [r.eventKey, r.approved])).toEqual([
      ['once', true],
      ['too-big', false],
    ]);
    expect(emu.credits('idem', 'ai-images', 'credits')).toBe(100);
    const badQty = await post('usage/events/', { ...usage, quantity: 0, event_key: 'z' });
    expect(badQty.status).toBe(400);
    expect(await badQty.json()).toHaveProperty('quantity');
  });

  it('sums usage over an inclusive window', async () => {
    let t = Date.parse('2026-03-01T00:00:00Z');
    const clocked = createEmulator({ now: () => t });
    await clocked.listen(0);
    const send = (key: string) =>
      fetch(new URL('usage/events/', clocked.url), {
        method: 'POST',
        headers: { authorization: `Bearer ${clocked.apiKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({ account_ref_id: 'acme', product_code: 'api-access', meter_code: 'api_calls', quantity: 1, event_key: key }),
      });
    await send('a');
    t = Date.parse('2026-03-31T23:59:59Z');
    await send('b');
    t = Date.parse('2026-04-01T00:00:00Z');
    await send('c');
    const sum = async (q: string) =>
      (
        (await (
          await fetch(new URL(`usage/summary/?account_ref_id=acme&product_code=api-access&meter_code=api_calls${q}`, clocked.url), {
            headers: { 'x-api-key': clocked.apiKey },
          })
        ).json()) as { total_usage: number }
      ).total_usage;
    expect(await sum('&start=2026-03-01T00:00:00Z&end=2026-03-31T23:59:59Z')).toBe(2);
    expect(await sum('')).toBe(3);
    expect(await sum('&start=2026-04-01T00:00:00Z')).toBe(1);
    await clocked.close();
  });

  it('resolves public URLs for SaaS entries only, and answers fix-subscription', async () => {
    expect((await api('resolve/public-url/?product_name=onboarding&account_ref_id=acme')).status).toBe(200);
    // An account it does not know gets 404, not a link (it answered 200 for anyone).
    const nobody = await api('resolve/public-url/?product_name=onboarding&account_ref_id=nobody');
    expect([nobody.status, await nobody.json()]).toEqual([404, { error: 'Account not found or invalid subscription tier' }]);
    expect((await api('resolve/public-url/?subscription_name=studio-suite&tier_name=pro&email=x%40y.z&account_ref_id=nobody')).status).toBe(404);
    expect((await api('resolve/public-url/?product_name=ai-images&account_ref_id=acme')).status).toBe(404);
    expect((await api('resolve/public-url/?subscription_name=studio-suite&tier_name=pro&account_ref_id=acme')).status).toBe(400);
    const pay = await api('fix-subscription/?account_ref_id=initech&subscription_name=studio-suite&tier_name=pro');
    expect(await pay.json()).toHaveProperty('url');
    const nothing = await api('fix-subscription/?account_ref_id=acme&subscription_name=studio-suite&tier_name=pro');
    expect(nothing.status).toBe(200);
    expect(await nothing.text()).toBe('');
  });

  it('answers status in the single and the multiple shape', async () => {
    expect(await (await api('account/acme/status/')).json()).toHaveProperty('subscription_tier.label_name', 'pro');
    emu.setAccount('two', {
      customerEmail: 't@example.com',
      subscriptions: [
        { subscription: 'studio-suite', tier: 'pro' },
        { subscription: 'pro-api', tier: 'pro' },
      ],
    });
    expect(await (await api('account/two/status/')).json()).toMatchObject({ total_subscriptions: 2, subscriptions: expect.any(Array) });
    expect(await (await api('account/two/status/?subscription=pro-api')).json()).toHaveProperty('subscription_tier.product_manage_id', 'A1pIpr0dKey0');
  });

  it('setAccount without subscriptions keeps the ones the account has (it wiped them)', async () => {
    emu.setAccount('keeper', { customerEmail: 'k@example.com', subscriptions: [{ subscription: 'studio-suite', tier: 'pro' }] });
    emu.setAccount('keeper', { customerEmail: 'new@example.com' });
    expect(await (await api('account/keeper/status/')).json()).toMatchObject({ customer_email: 'new@example.com', subscription_tier: { label_name: 'pro' } });
    emu.setAccount('keeper', { subscriptions: [] });
    expect(await (await api('account/keeper/status/')).json()).toMatchObject({ customer_email: 'new@example.com', subscriptions: [] });
  });

  it("loads fixtures from a JSON file, the file's apiKey and webhookSecret included (the key was ignored: every request got 401)", async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'emu-')), 'fixtures.json');
    writeFileSync(
      file,
      JSON.stringify({
        apiKey: 'file-key',
        webhookSecret: 'whsec_ZmlsZS1zZWNyZXQ=',
        products: [{ manage_id: 'm1', label_name: 'solo', type: 'subscription', tiers: [{ label_name: 'gold', name: 'Gold' }] }],
        accounts: [{ account_ref_id: 'f1', customer_email: 'f@example.com', subscriptions: [{ subscription: 'solo', tier: 'gold' }] }],
      }),
    );
    const fromFile = createEmulator({ fixtures: file });
    expect([fromFile.apiKey, fromFile.webhookSecret]).toEqual(['file-key', 'whsec_ZmlsZS1zZWNyZXQ=']);
    await fromFile.listen(0);
    const res = await fetch(new URL('account/f1/status/', fromFile.url), { headers: { 'x-api-key': 'file-key' } });
    expect(res.status).toBe(200);
    expect(await res.json()).toHaveProperty('subscription_tier.name', 'Gold');
    expect((await fetch(new URL('account/f1/status/', fromFile.url), { headers: { 'x-api-key': 'emu_test_key' } })).status).toBe(401);
    await fromFile.close();
    // An explicit option still wins over the file.
    const overridden = createEmulator({ fixtures: file, apiKey: 'explicit', webhookSecret: 'whsec_ZXhwbGljaXQ=' });
    expect([overridden.apiKey, overridden.webhookSecret]).toEqual(['explicit', 'whsec_ZXhwbGljaXQ=']);
    expect(() => createEmulator({ fixtures: { accounts: [{ account_ref_id: '' }] } as never })).toThrow(/invalid fixtures/);
  });
});

describe('faults', () => {
  it('injects latency, status, 429 with Retry-After, drops, malformed and off-schema bodies', async () => {
    emu.inject({ endpoint: 'tiers.list', kind: 'latency', ms: 120, times: 1 });
    const t0 = Date.now();
    expect((await api('tiers/')).status).toBe(200);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(110);
    emu.inject({ endpoint: 'tiers.list', kind: 'status', status: 502, times: 1 });
    expect((await api('tiers/')).status).toBe(502);
    emu.inject({ endpoint: 'tiers.list', kind: 'rate_limit', retryAfter: 3, times: 1 });
    const limited = await api('tiers/');
    expect([limited.status, limited.headers.get('retry-after')]).toEqual([429, '3']);
    emu.inject({ endpoint: 'tiers.list', kind: 'drop', times: 1 });
    await expect(api('tiers/')).rejects.toThrow();
    emu.inject({ endpoint: 'tiers.list', kind: 'malformed', times: 1 });
    await expect((await api('tiers/')).json()).rejects.toThrow();
    emu.inject({ endpoint: 'tiers.list', kind: 'bad_schema', times: 1 });
    expect(await (await api('tiers/')).json()).toEqual({ unexpected: true });
    expect((await api('tiers/')).status).toBe(200);
  });

  it('scopes a fault to one account', async () => {
    emu.inject({ accountRefId: 'globex', kind: 'status', status: 500 });
    expect((await api('account/globex/status/')).status).toBe(500);
    expect((await api('account/acme/status/')).status).toBe(200);
    emu.clearFaults();
    expect((await api('account/globex/status/')).status).toBe(200);
  });
});

describe('webhooks', () => {
  it('sends payloads signed so the standardwebhooks package verifies them', async () => {
    let got: { headers: IncomingMessage['headers']; body: string } | undefined;
    const sink = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        got = { headers: req.headers, body };
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"received":true}');
      });
    });
    await new Promise<void>((r) => sink.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(sink.address() as AddressInfo).port}/hook`;
    const r = await emu.sendWebhook(url, { event: 'subscription-cancelled', account_ref_id: 'acme' });
    sink.close();
    expect(r).toEqual({ status: 200, body: '{"received":true}' });
    const payload = new Webhook(emu.webhookSecret).verify(got?.body as string, got?.headers as Record<string, string>) as Record<string, unknown>;
    expect(payload).toMatchObject({ event: 'subscription-cancelled', account_ref_id: 'acme', transaction_id: expect.any(String), label_name: 'pro' });
  });

  it('sendWebhook gives up on a receiver that never answers (it waited forever)', async () => {
    let received = 0;
    const silent = createServer(() => void received++);
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(silent.address() as AddressInfo).port}/hook`;
    const err = await emu.sendWebhook(url, { event: 'subscription-cancelled', account_ref_id: 'acme' }, { timeoutMs: 100 }).catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'TimeoutError' });
    expect(received).toBe(1);
    silent.closeAllConnections();
    await new Promise((r) => silent.close(r));
  });
});
