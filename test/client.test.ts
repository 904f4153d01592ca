// The typed client against the emulator over real HTTP: every endpoint, every error type, retries,
// timeouts, pagination, path encoding, and the API key kept out of every error.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Emulator } from 'ecom9-gate/emulator';
import {
  AuthenticationError,
  ConnectionError,
  createClient,
  Ecom9Error,
  InvalidResponseError,
  NotFoundError,
  RateLimitError,
  ServerError,
  TimeoutError,
  ValidationError,
  type Ecom9Client,
} from 'ecom9-gate';
import { startEmulator } from './support/env';

let emu: Emulator;
let client: Ecom9Client;
let waits: number[];

beforeAll(async () => {
  emu = await startEmulator();
});
afterAll(async () => {
  await emu.close();
});
beforeEach(() => {
  emu.clearFaults();
  emu.resetCalls();
  waits = [];
  client = createClient({
    apiKey: emu.apiKey,
    baseUrl: emu.url,
    timeoutMs: 1_000,
    maxRetries: 2,
    sleep: async (ms) => void waits.push(ms),
  });
});

describe('every endpoint', () => {
  it('transactions.list and iterate walk every page', async () => {
    emu.setAccount('tx-co', { customerEmail: 't@example.com' });
    emu.addTransactions('tx-co', 45);
    const first = await client.transactions.list({ accountRefId: 'tx-co', pageSize: 20 });
    expect(first.count).toBe(45);
    expect(first.results).toHaveLength(20);
    expect(first.next).toMatch(/page=2/);
    expect(first.previous).toBeNull();
    const last = await client.transactions.list({ accountRefId: 'tx-co', page: 3, pageSize: 20 });
    expect(last.results).toHaveLength(5);
    expect(last.next).toBeNull();
    const all = [];
    for await (const t of client.transactions.iterate({ accountRefId: 'tx-co', pageSize: 20 })) all.push(t.transaction_uuid);
    expect(new Set(all).size).toBe(45);
    const failed = await client.transactions.list({ accountRefId: 'tx-co', status: 'failed', pageSize: 100 });
    expect(failed.results.every((t) => t.status === 'failed')).toBe(true);
  });

  it('accounts.status normalises both shapes to a list', async () => {
    const one = await client.accounts.status({ accountRefId: 'acme' });
    expect(one.subscriptions).toHaveLength(1);
    expect(one).toMatchObject({ account_ref_id: 'acme', is_active: true, total_subscriptions: 1 });
    expect(one.subscriptions[0]?.subscription_tier).toMatchObject({ label_name: 'pro', price: '29.00' });
    emu.setAccount('multi', {
      customerEmail: 'm@example.com',
      subscriptions: [
        { subscription: 'studio-suite', tier: 'starter', state: 'canceled' },
        { subscription: 'pro-api', tier: 'pro' },
      ],
    });
    const many = await client.accounts.status({ accountRefId: 'multi' });
    expect(many.subscriptions.map((s) => [s.subscription_tier.label_name, s.is_active])).toEqual([
      ['starter', false],
      ['pro', true],
    ]);
    const filtered = await client.accounts.status({ accountRefId: 'multi', subscription: 'pro-api', tier: 'pro' });
    expect(filtered.subscriptions).toHaveLength(1);
  });

  it('accounts.status refuses a tier without a subscription before sending', async () => {
    expect(() => client.accounts.status({ accountRefId: 'acme', tier: 'pro' })).toThrow(ValidationError);
    expect(emu.calls).toHaveLength(0);
  });

  it('products.list, tiers.list and tiers.iterate', async () => {
    const products = await client.products.list();
    expect(products.count).toBe(products.results.length);
    expect(products.results.map((p) => p.label_name)).toEqual([...products.results.map((p) => p.label_name)].sort());
    const page = await client.tiers.list({ pageSize: 2 });
    expect(page.results).toHaveLength(2);
    const all = [];
    for await (const t of client.tiers.iterate({ pageSize: 2 })) all.push(t.label_name);
    expect(all).toHaveLength(page.count);
  });

  it('invoices.create returns the hosted URL', async () => {
    const inv = await client.invoices.create({
      productManageId: 'Onb0ard1ng00',
      amount: 49.99,
      customerEmail: 'c@example.com',
      sendToCustomer: true,
      returnUrl: 'https://x.example/thanks',
    });
    expect(inv).toMatchObject({ hosted_invoice_url: expect.stringMatching(/^http/), email_sent: true, return_url: 'https://x.example/thanks' });
  });

  it('links.resolvePublicUrl by product and by subscription + tier; 404 for non-SaaS', async () => {
    expect((await client.links.resolvePublicUrl({ accountRefId: 'acme', productName: 'onboarding' })).public_url).toMatch(/\/p\//);
    const sub = await client.links.resolvePublicUrl({
      accountRefId: 'acme',
      subscriptionName: 'studio-suite',
      tierName: 'enterprise',
      email: 'ops@acme.example',
    });
    expect(sub.public_url).toMatch(/\?u=/);
    await expect(client.links.resolvePublicUrl({ accountRefId: 'acme', productName: 'ai-images' })).rejects.toBeInstanceOf(NotFoundError);
  });

  it('subscriptions.fix returns the payment URL, and { url: null } for an empty body', async () => {
    expect((await client.subscriptions.fix({ accountRefId: 'initech', subscriptionName: 'studio-suite', tierName: 'pro' })).url).toMatch(/\/pay\//);
    expect(await client.subscriptions.fix({ accountRefId: 'acme', subscriptionName: 'studio-suite', tierName: 'pro' })).toEqual({ url: null });
  });

  it('entitlements.check and credits.balance', async () => {
    expect((await client.entitlements.check({ accountRefId: 'acme', productCode: 'pro-api', entitlementCode: 'api_access' })).has_access).toBe(true);
    expect((await client.entitlements.check({ accountRefId: 'globex', productCode: 'pro-api', entitlementCode: 'api_access' })).has_access).toBe(false);
    expect((await client.credits.balance({ accountRefId: 'globex', productCode: 'ai-images', meterCode: 'credits' })).balance).toBe(3);
    expect((await client.credits.balance({ accountRefId: 'globex', productCode: 'ai-images', meterCode: 'nothing' })).balance).toBe(0);
  });

  it('credits.debit: approved, insufficient, invalid model, idempotent', async () => {
    emu.setCredits('globex', 'ai-images', 'credits', 3);
    expect(await client.credits.debit({ accountRefId: 'globex', productCode: 'ai-images', meterCode: 'credits', quantity: 2, eventKey: 'd1' })).toEqual({
      approved: true,
      debited: 2,
      remaining_balance: 1,
    });
    expect(await client.credits.debit({ accountRefId: 'globex', productCode: 'ai-images', meterCode: 'credits', quantity: 2, eventKey: 'd1' })).toEqual({
      approved: true,
      debited: 2,
      remaining_balance: 1,
    });
    expect(await client.credits.debit({ accountRefId: 'globex', productCode: 'ai-images', meterCode: 'credits', quantity: 2, eventKey: 'd2' })).toEqual({
      approved: false,
      error_code: 'insufficient_credits',
      remaining_balance: 1,
    });
    expect(
      (await client.credits.debit({ accountRefId: 'globex', productCode: 'api-access', meterCode: 'api_calls', quantity: 1, eventKey: 'd3' })).error_code,
    ).toBe('invalid_usage_model');
  });

  it('usage.record (idempotent by key) and usage.summary with inclusive windows', async () => {
    emu.setAccount('meter-co', { customerEmail: 'm@example.com' });
    expect(await client.usage.record({ accountRefId: 'meter-co', productCode: 'api-access', meterCode: 'api_calls', quantity: 3, eventKey: 'u1' })).toEqual({
      accepted: true,
      recorded_quantity: 3,
      idempotent: false,
    });
    expect(await client.usage.record({ accountRefId: 'meter-co', productCode: 'api-access', meterCode: 'api_calls', quantity: 3, eventKey: 'u1' })).toEqual({
      accepted: true,
      recorded_quantity: 3,
      idempotent: true,
    });
    const at = emu.usageEvents.find((e) => e.eventKey === 'u1')?.at as number;
    const exact = new Date(at);
    expect((await client.usage.summary({ accountRefId: 'meter-co', productCode: 'api-access', meterCode: 'api_calls' })).total_usage).toBe(3);
    expect(
      (await client.usage.summary({ accountRefId: 'meter-co', productCode: 'api-access', meterCode: 'api_calls', start: exact, end: exact })).total_usage,
    ).toBe(3);
    expect(
      (await client.usage.summary({ accountRefId: 'meter-co', productCode: 'api-access', meterCode: 'api_calls', start: new Date(at + 1) })).total_usage,
    ).toBe(0);
    expect(
      (await client.usage.record({ accountRefId: 'meter-co', productCode: 'ai-images', meterCode: 'credits', quantity: 1, eventKey: 'u2' })).error_code,
    ).toBe('invalid_usage_model');
  });
});

describe('errors', () => {
  it('401 with either auth scheme, as AuthenticationError', async () => {
    for (const authScheme of ['bearer', 'x-api-key'] as const) {
      const bad = createClient({ apiKey: 'wrong-key', baseUrl: emu.url, authScheme });
      const err = await bad.products.list().catch((e) => e);
      expect(err).toBeInstanceOf(AuthenticationError);
      expect(err).toMatchObject({ status: 401, endpoint: 'products.list' });
    }
    const ok = createClient({ apiKey: emu.apiKey, baseUrl: emu.url, authScheme: 'x-api-key' });
    expect((await ok.products.list()).count).toBeGreaterThan(0);
  });

  it('404 as NotFoundError, 400 as ValidationError with the field map', async () => {
    await expect(client.accounts.status({ accountRefId: 'no-such-account' })).rejects.toMatchObject({ name: 'NotFoundError', status: 404 });
    const err = await client.invoices.create({ productManageId: 'Onb0ard1ng00', amount: 10, customerEmail: 'not-an-email' }).catch((e) => e);
    expect(err).toBeInstanceOf(ValidationError);
    expect(err.status).toBe(400);
    expect(Object.keys(err.fields)).toContain('customer_email');
  });

  it('waits out a 429 with Retry-After: 1, for real', async () => {
    const real = createClient({ apiKey: emu.apiKey, baseUrl: emu.url });
    emu.inject({ endpoint: 'products.list', kind: 'rate_limit', retryAfter: 1, times: 1 });
    const t0 = Date.now();
    expect((await real.products.list()).count).toBeGreaterThan(0);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(950);
    expect(emu.callCount('products.list')).toBe(2);
    await real.close();
  });

  it('honours Retry-After between attempts, and surfaces RateLimitError when they run out', async () => {
    emu.inject({ endpoint: 'tiers.list', kind: 'rate_limit', retryAfter: 2 });
    const err = await client.tiers.list().catch((e) => e);
    expect(err).toBeInstanceOf(RateLimitError);
    expect(err.retryAfterMs).toBe(2_000);
    expect(waits).toEqual([2_000, 2_000]);
    expect(emu.callCount('tiers.list')).toBe(3);
  });

  it('retries 5xx with growing, jittered, bounded backoff, then succeeds', async () => {
    emu.inject({ endpoint: 'products.list', kind: 'status', status: 502, times: 2 });
    expect((await client.products.list()).count).toBeGreaterThan(0);
    expect(waits).toHaveLength(2);
    expect(waits[0]).toBeGreaterThanOrEqual(250);
    expect(waits[0]).toBeLessThanOrEqual(500);
    expect(waits[1]).toBeGreaterThanOrEqual(500);
    expect(waits[1]).toBeLessThanOrEqual(1_000);
  });

  it('gives up after maxRetries with ServerError', async () => {
    emu.inject({ endpoint: 'products.list', kind: 'status', status: 503 });
    await expect(client.products.list()).rejects.toMatchObject({ name: 'ServerError', status: 503 });
    expect(emu.callCount('products.list')).toBe(3);
  });

  it('times out each attempt and reports TimeoutError within the bound', async () => {
    emu.inject({ endpoint: 'products.list', kind: 'latency', ms: 5_000 });
    const quick = createClient({ apiKey: emu.apiKey, baseUrl: emu.url, timeoutMs: 150, maxRetries: 1, sleep: async () => {} });
    const t0 = Date.now();
    await expect(quick.products.list()).rejects.toBeInstanceOf(TimeoutError);
    expect(Date.now() - t0).toBeLessThan(1_000);
    expect(emu.callCount('products.list')).toBe(2);
    await quick.close();
  });

  it('reports a dropped connection as ConnectionError, after retrying it', async () => {
    emu.inject({ endpoint: 'products.list', kind: 'drop' });
    await expect(client.products.list()).rejects.toBeInstanceOf(ConnectionError);
    expect(emu.callCount('products.list')).toBe(3);
  });

  it('reports malformed JSON and a body that fails its schema as InvalidResponseError', async () => {
    emu.inject({ endpoint: 'products.list', kind: 'malformed', times: 1 });
    await expect(client.products.list()).rejects.toBeInstanceOf(InvalidResponseError);
    emu.inject({ endpoint: 'products.list', kind: 'bad_schema', times: 1 });
    await expect(client.products.list()).rejects.toBeInstanceOf(InvalidResponseError);
  });

  it('never retries a POST without an event_key', async () => {
    emu.inject({ endpoint: 'invoices.create', kind: 'status', status: 503 });
    await expect(client.invoices.create({ productManageId: 'Onb0ard1ng00', amount: 5, customerEmail: 'c@example.com' })).rejects.toBeInstanceOf(ServerError);
    expect(emu.callCount('invoices.create')).toBe(1);
  });

  it('retries a debit whose connection dropped after processing, and charges once', async () => {
    emu.setCredits('acme', 'ai-images', 'credits', 100);
    emu.inject({ endpoint: 'credits.debit', kind: 'drop', dropAfterProcessing: true, times: 1 });
    const r = await client.credits.debit({ accountRefId: 'acme', productCode: 'ai-images', meterCode: 'credits', quantity: 5, eventKey: 'drop-once' });
    expect(r).toEqual({ approved: true, debited: 5, remaining_balance: 95 });
    expect(emu.callCount('credits.debit')).toBe(2);
    expect(emu.credits('acme', 'ai-images', 'credits')).toBe(95);
    expect(emu.ledger.filter((l) => l.eventKey === 'drop-once')).toHaveLength(1);
  });

  it('all errors are Ecom9Error, and none carries the API key', async () => {
    const key = 'sk_live_SECRET_never_print_0123456789';
    const bad = createClient({ apiKey: key, baseUrl: emu.url, maxRetries: 0 });
    const errors: unknown[] = [await bad.products.list().catch((e) => e)];
    const good = createClient({ apiKey: emu.apiKey, baseUrl: emu.url, maxRetries: 0 });
    for (const kind of ['status', 'rate_limit', 'drop', 'malformed', 'bad_schema'] as const) {
      emu.inject({ kind, times: 1 });
      errors.push(await good.products.list().catch((e) => e));
    }
    const unreachable = createClient({ apiKey: key, baseUrl: 'http://127.0.0.1:9/api/', maxRetries: 0 });
    errors.push(await unreachable.products.list().catch((e) => e));
    for (const e of errors) {
      expect(e).toBeInstanceOf(Ecom9Error);
      const text = `${(e as Error).message} ${(e as Error).stack} ${JSON.stringify(e)} ${String((e as Error).cause ?? '')}`;
      expect(text).not.toContain(key);
      expect(text).not.toContain(emu.apiKey);
    }
  });
});

describe('account refs and paths', () => {
  it('refuses empty, over-long, dot-segment and control-character refs before any request', async () => {
    for (const ref of ['', '.', '..', '%2e', '%2E%2e', '.%2e', 'a\u0000', 'tab\there', 'x'.repeat(257)]) {
      expect(() => client.accounts.status({ accountRefId: ref })).toThrow(ValidationError);
      expect(() => client.entitlements.check({ accountRefId: ref, productCode: 'p', entitlementCode: 'e' })).toThrow(ValidationError);
    }
    expect(emu.calls).toHaveLength(0);
  });

  it('percent-encodes a ref into one path segment', async () => {
    emu.setAccount('a b/c?d#e%2F', { customerEmail: 'odd@example.com', subscriptions: [{ subscription: 'studio-suite', tier: 'pro' }] });
    const s = await client.accounts.status({ accountRefId: 'a b/c?d#e%2F' });
    expect(s.account_ref_id).toBe('a b/c?d#e%2F');
    expect(emu.calls[0]).toMatchObject({ endpoint: 'accounts.status', path: '/api/account/a%20b%2Fc%3Fd%23e%252F/status/' });
  });
});
