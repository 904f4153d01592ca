// The console's JSON API under /__emulator/ over real HTTP: each change shows in what the ecom9 routes
// answer and arrives at every webhook URL signed (checked by the standardwebhooks library); bad input is a
// 400 problem+json naming the field, an unknown account 404, no key 401; a gate behind a webhook URL
// stops granting at once.
import { createServer, get, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Emulator } from 'ecom9-gate/emulator';
import type { Gate } from 'ecom9-gate';
import { gateFor, startEmulator } from './support/env';

interface Received {
  body: string;
  headers: Record<string, string>;
}

let emu: Emulator;
let receiver: Server;
let received: Received[] = [];
/** When set, the receiver hands each delivery to this gate, as an app's webhook route would. */
let gate: Gate | undefined;

beforeAll(async () => {
  receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', async () => {
      const headers = req.headers as Record<string, string>;
      received.push({ body, headers });
      const r = gate ? await gate.handleWebhook({ rawBody: body, headers }) : { status: 200, body: { received: true } };
      res.writeHead(r.status, { 'content-type': 'application/json' }).end(JSON.stringify(r.body));
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  emu = await startEmulator({ webhookUrls: [`http://127.0.0.1:${(receiver.address() as AddressInfo).port}/webhooks/ecom9`] });
});
afterAll(async () => {
  await gate?.close();
  await emu.close();
  await new Promise((r) => receiver.close(r));
});
beforeEach(() => {
  received = [];
});

const base = () => emu.url.replace(/api\/$/, '');
const admin = (method: string, path: string, body?: unknown, key: string | null = emu.apiKey) =>
  fetch(`${base()}__emulator/${path}`, {
    method,
    headers: { ...(key === null ? {} : { authorization: `Bearer ${key}` }), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
const ecom9 = async (path: string) => (await fetch(new URL(path, emu.url), { headers: { 'x-api-key': emu.apiKey } })).json();
/** The one webhook received since the test began, verified with the emulator's secret (throws if forged). */
function theWebhook(): Record<string, unknown> {
  expect(received).toHaveLength(1);
  const [{ body, headers }] = received as [Received];
  return new Webhook(emu.webhookSecret).verify(body, headers) as Record<string, unknown>;
}
async function problem(res: Response, status: number) {
  expect(res.status).toBe(status);
  expect(res.headers.get('content-type')).toBe('application/problem+json');
  return (await res.json()) as { status: number; detail: string; errors?: Array<{ field: string; message: string }> };
}
const seed = (ref: string) => emu.setAccount(ref, { customerEmail: `${ref}@example.com`, subscriptions: [{ subscription: 'studio-suite', tier: 'pro' }] });

describe('auth', () => {
  const routes: Array<[string, string, unknown?]> = [
    ['GET', 'state'],
    ['GET', 'calls'],
    ['PUT', 'accounts/acme/subscriptions/studio-suite', { status: 'canceled' }],
    ['PUT', 'accounts/acme/credits/ai-images/credits', { balance: 0 }],
    ['PUT', 'accounts/acme/entitlements/pro-api/api_access', { hasAccess: false }],
    ['POST', 'faults', { kind: 'status' }],
    ['DELETE', 'faults'],
    ['POST', 'webhooks', { event: 'subscription-updated', account_ref_id: 'acme' }],
  ];
  it.each(routes)('%s %s answers 401 problem+json without the key or with a wrong one, and changes nothing', async (method, path, body) => {
    const before = await (await admin('GET', 'state')).json();
    expect((await problem(await admin(method, path, body, null), 401)).detail).toMatch(/API key is required/);
    expect((await problem(await admin(method, path, body, 'nope'), 401)).detail).toMatch(/invalid API key/);
    expect(await (await admin('GET', 'state')).json()).toEqual(before);
    expect(received).toEqual([]);
  });

  it('answers 404 naming the nearest route, and 405 with Allow', async () => {
    expect((await problem(await admin('GET', 'stat'), 404)).detail).toMatch(/did you mean "\/__emulator\/state"/);
    const wrong = await admin('POST', 'state');
    await problem(wrong, 405);
    expect(wrong.headers.get('allow')).toBe('GET');
  });
});

describe('GET state and calls', () => {
  it("lists the fixtures' accounts with subscriptions, entitlements, credits, usage totals and recent debits", async () => {
    const s = (await (await admin('GET', 'state')).json()) as { accounts: Array<Record<string, unknown>>; webhook_urls: string[] };
    expect(s.accounts.map((a) => a.account_ref_id)).toEqual(expect.arrayContaining(['acme', 'globex', 'initech']));
    const acme = s.accounts.find((a) => a.account_ref_id === 'acme');
    expect(acme).toMatchObject({
      subscriptions: [{ subscription: 'studio-suite', tier: 'pro', status: 'active' }],
      entitlements: [{ product: 'pro-api', entitlement: 'api_access' }],
      credits: [{ product: 'ai-images', meter: 'credits' }],
    });
    expect(s.webhook_urls).toEqual(emu.webhookUrls);
  });

  it('logs each ecom9 call with its answer, reads the ones after an id, and leaves its own calls out of the log', async () => {
    seed('calls-co');
    const { last } = (await (await admin('GET', 'calls')).json()) as { last: number };
    await ecom9('account/calls-co/status/');
    await ecom9('account/nobody-here/status/');
    const after = (await (await admin('GET', `calls?after=${last}`)).json()) as { calls: Array<Record<string, unknown>>; last: number };
    expect(after.calls.map((c) => [c.endpoint, c.accountRefId, c.status])).toEqual([
      ['accounts.status', 'calls-co', 200],
      ['accounts.status', 'nobody-here', 404],
    ]);
    expect(after.calls[0]?.response).toMatchObject({ account_ref_id: 'calls-co', is_active: true });
    expect(after.last).toBe(last + 2);
    const newest = (await (await admin('GET', `calls?after=${last}&limit=1`)).json()) as { calls: Array<Record<string, unknown>> };
    expect(newest.calls.map((c) => c.accountRefId)).toEqual(['nobody-here']);
    expect(emu.calls.some((c) => c.path.startsWith('/__emulator/'))).toBe(false);
    expect((await problem(await admin('GET', 'calls?after=soon'), 400)).errors?.[0]?.field).toBe('after');
  });
});

describe('PUT subscriptions', () => {
  it('cancels, reactivates and changes tier: the status route answers the new state and each change arrives signed', async () => {
    seed('sub-co');
    const path = 'accounts/sub-co/subscriptions/studio-suite';
    const cancel = await admin('PUT', path, { status: 'canceled' });
    expect(cancel.status).toBe(200);
    const answer = (await cancel.json()) as { sent: { webhook: Record<string, unknown>; deliveries: unknown[] } };
    expect(answer.sent.deliveries).toEqual([{ url: emu.webhookUrls[0], status: 200 }]);
    expect(await ecom9('account/sub-co/status/')).toMatchObject({ is_active: false, subscription_tier: { label_name: 'pro' } });
    const hook = theWebhook();
    expect(hook).toMatchObject({ event: 'subscription-cancelled', account_ref_id: 'sub-co', is_active: false, label_name: 'pro' });
    expect(hook.transaction_id).toBe(answer.sent.webhook.transaction_id);

    received = [];
    expect((await admin('PUT', path, { status: 'active' })).status).toBe(200);
    expect(await ecom9('account/sub-co/status/')).toMatchObject({ is_active: true, subscription_tier: { label_name: 'pro' } });
    expect(theWebhook()).toMatchObject({ event: 'subscription-reactivated', is_active: true, label_name: 'pro' });

    received = [];
    expect((await admin('PUT', path, { tier: 'enterprise' })).status).toBe(200);
    expect(await ecom9('account/sub-co/status/?subscription=studio-suite&tier=enterprise')).toMatchObject({ is_active: true });
    expect(await ecom9('account/sub-co/status/?subscription=studio-suite&tier=pro')).toMatchObject({ is_active: false });
    expect(theWebhook()).toMatchObject({ event: 'subscription-updated', is_active: true, label_name: 'enterprise' });
  });

  it('refuses bad input naming the field, an unknown account or subscription with 404, and changes nothing', async () => {
    seed('sub-bad');
    const path = 'accounts/sub-bad/subscriptions/studio-suite';
    expect((await problem(await admin('PUT', path, { tier: 'platinum' }), 400)).errors).toEqual([
      { field: 'tier', message: '"platinum" is not a tier of studio-suite (starter, pro, enterprise)' },
    ]);
    expect((await problem(await admin('PUT', path, { status: 'paused' }), 400)).errors?.[0]?.field).toBe('status');
    expect((await problem(await admin('PUT', path, { tiers: 'pro' }), 400)).errors?.[0]).toEqual({
      field: 'tiers',
      message: 'unknown field "tiers" (did you mean "tier"?)',
    });
    expect((await problem(await admin('PUT', path, {}), 400)).errors?.[0]?.field).toBe('tier');
    expect((await problem(await admin('PUT', path, '{"tier":'), 400)).errors?.[0]).toEqual({ field: 'body', message: 'is not JSON' });
    expect((await problem(await admin('PUT', 'accounts/nobody/subscriptions/studio-suite', { status: 'canceled' }), 404)).detail).toMatch(
      /no account "nobody"/,
    );
    expect((await problem(await admin('PUT', 'accounts/sub-bad/subscriptions/studio-suit', { tier: 'pro' }), 404)).detail).toMatch(
      /did you mean "studio-suite"/,
    );
    expect(emu.subscriptions('sub-bad')).toEqual([{ subscription: 'studio-suite', tier: 'pro', state: 'active' }]);
    expect(received).toEqual([]);
  });
});

describe('PUT credits and entitlements', () => {
  it('sets a balance the balance route answers and a debit spends, sent as credits-updated', async () => {
    seed('credit-co');
    expect((await admin('PUT', 'accounts/credit-co/credits/ai-images/credits', { balance: 7 })).status).toBe(200);
    expect(await ecom9('usage/credits/balance/?account_ref_id=credit-co&product_code=ai-images&meter_code=credits')).toMatchObject({ balance: 7 });
    expect(theWebhook()).toMatchObject({ event: 'credits-updated', account_ref_id: 'credit-co', product_code: 'ai-images', meter_code: 'credits', balance: 7 });
    const debit = await fetch(new URL('usage/credits/debit/', emu.url), {
      method: 'POST',
      headers: { 'x-api-key': emu.apiKey, 'content-type': 'application/json' },
      body: JSON.stringify({ account_ref_id: 'credit-co', product_code: 'ai-images', meter_code: 'credits', quantity: 2, event_key: 'console-1' }),
    });
    expect(await debit.json()).toEqual({ approved: true, debited: 2, remaining_balance: 5 });
    const { account } = (await (await admin('PUT', 'accounts/credit-co/credits/ai-images/credits', { balance: 5 })).json()) as {
      account: { credits: unknown[]; recent_debits: unknown[] };
    };
    expect(account.credits).toEqual([{ product: 'ai-images', meter: 'credits', balance: 5 }]);
    expect(account.recent_debits).toEqual([expect.objectContaining({ quantity: 2, event_key: 'console-1', approved: true })]);
    received = [];
    expect((await problem(await admin('PUT', 'accounts/credit-co/credits/ai-images/credits', { balance: -1 }), 400)).errors?.[0]?.field).toBe('balance');
    expect((await problem(await admin('PUT', 'accounts/credit-co/credits/ai-images/credits', { balance: '5' }), 400)).errors?.[0]?.field).toBe('balance');
    expect((await problem(await admin('PUT', 'accounts/credit-co/credits/ai-images/credit', { balance: 5 }), 404)).detail).toMatch(/did you mean "credits"/);
    await problem(await admin('PUT', 'accounts/nobody/credits/ai-images/credits', { balance: 5 }), 404);
    expect(emu.credits('credit-co', 'ai-images', 'credits')).toBe(5);
    expect(received).toEqual([]);
  });

  it('grants and revokes an entitlement the check route answers, each sent', async () => {
    seed('ent-co');
    const path = 'accounts/ent-co/entitlements/pro-api/bulk_export';
    const check = () => ecom9('entitlements/check/?account_ref_id=ent-co&product_code=pro-api&entitlement_code=bulk_export');
    expect((await admin('PUT', path, { hasAccess: true })).status).toBe(200);
    expect(await check()).toMatchObject({ has_access: true });
    expect(theWebhook()).toMatchObject({ event: 'entitlement-granted', entitlement_code: 'bulk_export' });
    received = [];
    expect((await admin('PUT', path, { hasAccess: false })).status).toBe(200);
    expect(await check()).toMatchObject({ has_access: false });
    expect(theWebhook()).toMatchObject({ event: 'entitlement-revoked' });
    received = [];
    expect((await problem(await admin('PUT', path, { hasAccess: 'yes' }), 400)).errors?.[0]?.field).toBe('hasAccess');
    expect((await problem(await admin('PUT', path, { has_access: true }), 400)).errors?.[0]?.message).toMatch(/did you mean "hasAccess"/);
    await problem(await admin('PUT', 'accounts/nobody/entitlements/pro-api/api_access', { hasAccess: true }), 404);
    await problem(await admin('PUT', 'accounts/ent-co/entitlements/pro-apii/api_access', { hasAccess: true }), 404);
    expect(received).toEqual([]);
  });
});

describe('faults and webhooks', () => {
  it('injects a fault the next ecom9 call meets, lists it, and clears it', async () => {
    seed('fault-co');
    const inject = await admin('POST', 'faults', { endpoint: 'accounts.status', accountRefId: 'fault-co', kind: 'status', status: 503, times: 1 });
    expect(await inject.json()).toEqual({ faults: [expect.objectContaining({ kind: 'status', status: 503, left: 1 })] });
    expect((await fetch(new URL('account/fault-co/status/', emu.url), { headers: { 'x-api-key': emu.apiKey } })).status).toBe(503);
    expect((await fetch(new URL('account/fault-co/status/', emu.url), { headers: { 'x-api-key': emu.apiKey } })).status).toBe(200);
    await admin('POST', 'faults', { kind: 'status', status: 500 });
    expect((await admin('DELETE', 'faults')).status).toBe(200);
    expect((await fetch(new URL('tiers/', emu.url), { headers: { 'x-api-key': emu.apiKey } })).status).toBe(200);
    expect((await problem(await admin('POST', 'faults', { kind: 'explode' }), 400)).errors?.[0]?.field).toBe('kind');
    expect((await problem(await admin('POST', 'faults', { kind: 'status', endpoint: 'accounts.stat' }), 400)).errors?.[0]?.field).toBe('endpoint');
    expect((await problem(await admin('POST', 'faults', { kind: 'status', times: 0 }), 400)).errors?.[0]?.field).toBe('times');
  });

  it('sends a webhook on demand, to every URL, signed; names a bad field and 404s an unknown account', async () => {
    const res = await admin('POST', 'webhooks', { event: 'payment-failed', account_ref_id: 'globex' });
    expect(res.status).toBe(200);
    expect(theWebhook()).toMatchObject({ event: 'payment-failed', account_ref_id: 'globex', label_name: 'starter' });
    // After an upgrade (the old tier ends at the same instant) the payload names the new, active tier.
    seed('hook-co');
    await admin('PUT', 'accounts/hook-co/subscriptions/studio-suite', { tier: 'enterprise' });
    received = [];
    await admin('POST', 'webhooks', { event: 'subscription-updated', account_ref_id: 'hook-co' });
    expect(theWebhook()).toMatchObject({ label_name: 'enterprise', is_active: true });
    received = [];
    expect((await problem(await admin('POST', 'webhooks', { account_ref_id: 'globex' }), 400)).errors?.[0]?.field).toBe('event');
    await problem(await admin('POST', 'webhooks', { event: 'x', account_ref_id: 'nobody' }), 404);
    expect(received).toEqual([]);
  });

  it('reports a webhook URL that cannot be reached, keeps the change, and keeps serving', async () => {
    const lonely = await startEmulator({ webhookUrls: ['http://127.0.0.1:9/webhooks/ecom9'] });
    try {
      const res = await fetch(`${lonely.url.replace(/api\/$/, '')}__emulator/accounts/acme/subscriptions/studio-suite`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${lonely.apiKey}` },
        body: JSON.stringify({ status: 'canceled' }),
      });
      expect(res.status).toBe(200);
      expect(((await res.json()) as { sent: { deliveries: Array<Record<string, unknown>> } }).sent.deliveries).toEqual([
        { url: 'http://127.0.0.1:9/webhooks/ecom9', error: expect.any(String) },
      ]);
      expect(lonely.subscriptions('acme')[0]?.state).toBe('canceled');
    } finally {
      await lonely.close();
    }
  });
});

describe('a gate behind the webhook URL', () => {
  it('stops granting a cached tier the moment the console cancels it (without the webhook it kept granting from cache)', async () => {
    seed('gated-co');
    gate = gateFor(emu, { cache: { ttlMs: 600_000 } });
    expect((await gate.checkTier('gated-co', { tiers: ['pro'], subscription: 'studio-suite' })).allowed).toBe(true);
    expect((await gate.checkTier('gated-co', { tiers: ['pro'], subscription: 'studio-suite' })).allowed).toBe(true);
    const asked = emu.callCount('accounts.status', 'gated-co');
    expect((await admin('PUT', 'accounts/gated-co/subscriptions/studio-suite', { status: 'canceled' })).status).toBe(200);
    const after = await gate.checkTier('gated-co', { tiers: ['pro'], subscription: 'studio-suite' });
    expect([after.allowed, after.status]).toEqual([false, 403]);
    expect(emu.callCount('accounts.status', 'gated-co')).toBe(asked + 1);
  });
});

describe('the page', () => {
  it('is served at / as HTML under a CSP, to localhost and IP hosts only', async () => {
    const res = await fetch(base());
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(res.headers.get('content-security-policy')).toMatch(/script-src 'nonce-/);
    expect(await res.text()).toMatch(/<title>ecom9 emulator console<\/title>/);
    const { port } = new URL(base());
    // fetch cannot set Host: a raw request names a DNS name, as a rebinding page's would.
    const foreign = await new Promise<number>((resolve, reject) => {
      get({ host: '127.0.0.1', port, path: '/', headers: { host: `rebound.example:${port}` } }, (r) => {
        r.resume();
        resolve(r.statusCode ?? 0);
      }).on('error', reject);
    });
    expect(foreign).toBe(403);
  });
});
