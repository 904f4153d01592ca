// The typed client against the emulator over real HTTP: every endpoint, every error type, retries,
// timeouts, pagination, path encoding, and the API key kept out of every error.
import { inspect } from 'node:util';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Emulator } from 'ecom9-gate/emulator';
import {
  ApiError,
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
  isEcom9Error,
  type ClientOptions,
  type Ecom9Client,
} from 'ecom9-gate';
import { startEmulator } from './support/env';
import { gateEnv } from './support/gate-env';

let emu: Emulator;
let client: Ecom9Client;
let waits: number[];
// Every client a test makes is closed after it, so no undici pool outlives its test.
let opened: Ecom9Client[] = [];
const make = (o: Partial<ClientOptions> = {}): Ecom9Client => {
  const c = createClient({ apiKey: emu.apiKey, baseUrl: emu.url, ...o });
  opened.push(c);
  return c;
};

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
  client = make({ timeoutMs: 1_000, maxRetries: 2, sleep: async (ms) => void waits.push(ms) });
});
afterEach(async () => {
  await Promise.all(opened.map((c) => c.close()));
  opened = [];
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

  it('accounts.status refuses a tier without a subscription before sending, as a rejection (it used to throw synchronously)', async () => {
    const caught = await client.accounts.status({ accountRefId: 'acme', tier: 'pro' }).catch((e: unknown) => e);
    expect(caught).toBeInstanceOf(ValidationError);
    expect(emu.calls).toHaveLength(0);
  });

  it('refusals before sending reject, so .catch and Promise.allSettled see them (they used to be thrown synchronously)', async () => {
    const base = { productCode: 'ai-images', meterCode: 'credits', eventKey: 'k' };
    const results = await Promise.allSettled([
      client.credits.debit({ ...base, accountRefId: 'acme', quantity: 0 }),
      client.usage.record({ ...base, accountRefId: 'acme', quantity: 1.5 }),
      client.credits.debit({ ...base, accountRefId: 'acme', quantity: 1, eventKey: '' }),
      client.invoices.create({ productManageId: '', amount: 1, customerEmail: 'c@example.com' }),
      client.transactions.list({ accountRefId: '..' }),
      client.links.resolvePublicUrl({ accountRefId: '', productName: 'onboarding' }),
      client.subscriptions.fix({ accountRefId: '.', subscriptionName: 's', tierName: 't' }),
    ]);
    expect(results.map((r) => r.status)).toEqual(Array(7).fill('rejected'));
    for (const r of results) expect((r as PromiseRejectedResult).reason).toBeInstanceOf(ValidationError);
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

  it('tiers.iterate keeps paging while fewer than count were seen when next is absent (it stopped after page 1)', async () => {
    const tier = (label: string) => ({ label_name: label, name: label, price: '1.00' });
    emu.inject({ endpoint: 'tiers.list', kind: 'status', status: 200, body: { count: 3, results: [tier('a')] }, times: 1 });
    emu.inject({ endpoint: 'tiers.list', kind: 'status', status: 200, body: { count: 3, results: [tier('b'), tier('c')] }, times: 1 });
    const all = [];
    for await (const t of client.tiers.iterate({ pageSize: 100 })) all.push(t.label_name);
    expect(all).toEqual(['a', 'b', 'c']);
    expect(emu.calls.map((c) => c.query.page)).toEqual(['1', '2']);
  });

  it('tiers.iterate stops on next: null, on an empty page and on a 404 past the count, whatever count says', async () => {
    const walk = async () => {
      emu.resetCalls();
      const all = [];
      for await (const t of client.tiers.iterate()) all.push(t.label_name);
      return [all.length, emu.callCount('tiers.list')];
    };
    const one = { label_name: 'a', name: 'A' };
    emu.inject({ endpoint: 'tiers.list', kind: 'status', status: 200, body: { count: 9, next: null, results: [one] }, times: 1 });
    expect(await walk()).toEqual([1, 1]);
    emu.inject({ endpoint: 'tiers.list', kind: 'status', status: 200, body: { count: 9, results: [] }, times: 1 });
    expect(await walk()).toEqual([0, 1]);
    emu.inject({ endpoint: 'tiers.list', kind: 'status', status: 200, body: { count: 9, results: [one] }, times: 1 });
    emu.inject({ endpoint: 'tiers.list', kind: 'status', status: 404, times: 1 });
    expect(await walk()).toEqual([1, 2]);
    // The list itself still reads an absent link as null.
    emu.inject({ endpoint: 'tiers.list', kind: 'status', status: 200, body: { count: 1, results: [one] }, times: 1 });
    expect(await client.tiers.list()).toEqual({ count: 1, next: null, previous: null, results: [one] });
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

  it('subscriptions.fix reads 204, {}, null and {url: null} as nothing to pay (they raised InvalidResponseError)', async () => {
    const fix = () => client.subscriptions.fix({ accountRefId: 'acme', subscriptionName: 'studio-suite', tierName: 'pro' });
    for (const answer of [{ status: 204 }, { status: 200, body: {} }, { status: 200, body: null }, { status: 200, body: { url: null } }]) {
      emu.inject({ endpoint: 'subscriptions.fix', kind: 'status', ...answer, times: 1 });
      expect(await fix()).toEqual({ url: null });
    }
    expect(emu.callCount('subscriptions.fix')).toBe(4);
  });

  it('accounts.status: the single shape with subscription_tier null or missing is an account without a plan (it failed its schema)', async () => {
    const status = () => client.accounts.status({ accountRefId: 'acme' });
    const bare = { account_ref_id: 'acme', customer_email: 'ops@acme.example' };
    for (const body of [{ ...bare, is_active: false, subscription_tier: null }, bare, { ...bare, subscription_tier: null }]) {
      emu.inject({ endpoint: 'accounts.status', kind: 'status', status: 200, body, times: 1 });
      expect(await status()).toEqual({ ...bare, is_active: false, subscriptions: [], total_subscriptions: 0 });
    }
    emu.inject({ endpoint: 'accounts.status', kind: 'status', status: 200, body: { ...bare, is_active: true }, times: 1 });
    expect(await status()).toMatchObject({ is_active: true, subscriptions: [] });
    emu.inject({ endpoint: 'accounts.status', kind: 'status', status: 200, body: { customer_email: 'x' }, times: 1 });
    await expect(status()).rejects.toBeInstanceOf(InvalidResponseError);
  });

  it('so the gate denies an account without a plan with tier_required, not upstream_unavailable', async () => {
    await using env = await gateEnv({ emu });
    const { gate } = env;
    emu.inject({ endpoint: 'accounts.status', kind: 'status', status: 200, body: { account_ref_id: 'acme', subscription_tier: null } });
    expect(await gate.checkTier('acme', { tiers: 'pro' })).toMatchObject({ allowed: false, code: 'tier_required', status: 403 });
    expect(gate.stats().upstreamErrors).toBe(0);
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
      const bad = make({ apiKey: 'wrong-key', authScheme });
      const err = await bad.products.list().catch((e) => e);
      expect(err).toBeInstanceOf(AuthenticationError);
      expect(err).toMatchObject({ status: 401, endpoint: 'products.list' });
    }
    const ok = make({ authScheme: 'x-api-key' });
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
    const real = make();
    emu.inject({ endpoint: 'products.list', kind: 'rate_limit', retryAfter: 1, times: 1 });
    const t0 = Date.now();
    expect((await real.products.list()).count).toBeGreaterThan(0);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(950);
    expect(emu.callCount('products.list')).toBe(2);
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
    const quick = make({ timeoutMs: 150, maxRetries: 1, sleep: async () => {} });
    const t0 = Date.now();
    await expect(quick.products.list()).rejects.toBeInstanceOf(TimeoutError);
    expect(Date.now() - t0).toBeLessThan(1_000);
    expect(emu.callCount('products.list')).toBe(2);
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

  it('answers an unexpected status (418) with ApiError, once, without retrying', async () => {
    emu.inject({ endpoint: 'products.list', kind: 'status', status: 418 });
    const err = await client.products.list().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err).toMatchObject({ status: 418, code: 'api_error', endpoint: 'products.list' });
    expect(emu.callCount('products.list')).toBe(1);
    expect(waits).toEqual([]);
  });

  it('answers 403 with AuthenticationError, without retrying', async () => {
    emu.inject({ endpoint: 'tiers.list', kind: 'status', status: 403 });
    await expect(client.tiers.list()).rejects.toMatchObject({ name: 'AuthenticationError', status: 403 });
    expect(emu.callCount('tiers.list')).toBe(1);
    expect(waits).toEqual([]);
  });

  it('backoff doubles from retryBaseMs, never exceeds retryMaxMs, and is jittered (not always the cap)', async () => {
    const bounded = make({ retryBaseMs: 500, retryMaxMs: 600, maxRetries: 4, sleep: async (ms) => void waits.push(ms) });
    emu.inject({ endpoint: 'products.list', kind: 'status', status: 503 });
    const rounds = 10;
    for (let i = 0; i < rounds; i++) await expect(bounded.products.list()).rejects.toBeInstanceOf(ServerError);
    expect(emu.callCount('products.list')).toBe(rounds * 5);
    expect(waits).toHaveLength(rounds * 4);
    for (let i = 0; i < waits.length; i++) {
      const w = waits[i] as number;
      // Attempt 0 waits within [base/2, base]; later ones within [max/2, max] once the doubling hits the cap.
      if (i % 4 === 0) expect(w).toSatisfy((v: number) => v >= 250 && v <= 500);
      else expect(w).toSatisfy((v: number) => v >= 300 && v <= 600);
    }
    expect(new Set(waits.filter((_, i) => i % 4 !== 0)).size).toBeGreaterThan(1);
  });

  it('a call after close() fails at once as a final error (it was retried as a ConnectionError)', async () => {
    const closed = createClient({ apiKey: emu.apiKey, baseUrl: emu.url, sleep: async (ms) => void waits.push(ms) });
    await closed.close();
    const err = await closed.products.list().catch((e: unknown) => e);
    expect(isEcom9Error(err)).toBe(true);
    expect(err).not.toBeInstanceOf(ConnectionError);
    expect(err).toMatchObject({ code: 'client_unusable', message: expect.stringMatching(/closed/) });
    expect(waits).toEqual([]);
    expect(emu.callCount()).toBe(0);
  });

  it('all errors are Ecom9Error, and none carries the API key, even through util.inspect', async () => {
    const key = 'sk_live_SECRET_never_print_0123456789';
    const bad = make({ apiKey: key, maxRetries: 0 });
    const errors: unknown[] = [await bad.products.list().catch((e) => e)];
    const good = make({ maxRetries: 0 });
    for (const kind of ['status', 'rate_limit', 'drop', 'malformed', 'bad_schema'] as const) {
      emu.inject({ kind, times: 1 });
      errors.push(await good.products.list().catch((e) => e));
    }
    for (const status of [400, 404, 418]) {
      emu.inject({ kind: 'status', status, times: 1 });
      errors.push(await good.products.list().catch((e) => e));
    }
    const unreachable = make({ apiKey: key, baseUrl: 'http://127.0.0.1:9/api/', maxRetries: 0 });
    errors.push(await unreachable.products.list().catch((e) => e));
    // A timeout, a refusal before sending, an abort and a closed client, each with the secret key.
    // The timeout needs a request that passes auth, so an emulator that takes the secret key.
    const keyed = await startEmulator({ apiKey: key });
    keyed.inject({ endpoint: 'tiers.list', kind: 'latency', ms: 5_000, times: 1 });
    errors.push(
      await make({ apiKey: key, baseUrl: keyed.url, timeoutMs: 50, maxRetries: 0 })
        .tiers.list()
        .catch((e) => e),
    );
    await keyed.close();
    errors.push(await bad.credits.debit({ accountRefId: 'acme', productCode: 'p', meterCode: 'm', quantity: 0, eventKey: 'k' }).catch((e) => e));
    errors.push(await bad.accounts.status({ accountRefId: '\ud800' }).catch((e) => e));
    errors.push(await bad.products.list({ signal: AbortSignal.abort() }).catch((e) => e));
    const closed = createClient({ apiKey: key, baseUrl: emu.url });
    await closed.close();
    errors.push(await closed.products.list().catch((e) => e));
    expect(errors.map((e) => (e as Error).name)).toEqual([
      'AuthenticationError',
      'ServerError',
      'RateLimitError',
      'ConnectionError',
      'InvalidResponseError',
      'InvalidResponseError',
      'ValidationError',
      'NotFoundError',
      'ApiError',
      'ConnectionError',
      'TimeoutError',
      'ValidationError',
      'ValidationError',
      'AbortError',
      'ClientStateError',
    ]);
    for (const e of errors) {
      expect(e).toBeInstanceOf(Ecom9Error);
      const text = [
        (e as Error).message,
        (e as Error).stack,
        JSON.stringify(e),
        String((e as Error).cause ?? ''),
        inspect(e, { depth: 10, showHidden: true }),
      ].join(' ');
      expect(text).not.toContain(key);
      expect(text).not.toContain(emu.apiKey);
    }
  });
});

describe('abort', () => {
  it('an abort during the backoff wait ends the call at once, as an AbortError (it waited the backoff out)', async () => {
    const stuck = make({ sleep: (ms) => new Promise<void>(() => void waits.push(ms)) });
    emu.inject({ endpoint: 'products.list', kind: 'status', status: 503 });
    const ac = new AbortController();
    const call = stuck.products.list({ signal: ac.signal }).catch((e: unknown) => e);
    await vi.waitFor(() => expect(waits).toHaveLength(1));
    ac.abort(new Error('user went away'));
    const err = await call;
    expect(isEcom9Error(err)).toBe(true);
    expect(err).toMatchObject({ name: 'AbortError', code: 'aborted', endpoint: 'products.list', cause: ac.signal.reason });
    expect(emu.callCount('products.list')).toBe(1);
  });

  it('the default sleep is cut short by an abort too (measured: it used to take the whole backoff)', async () => {
    const slow = make({ retryBaseMs: 10_000, retryMaxMs: 10_000 });
    emu.inject({ endpoint: 'products.list', kind: 'status', status: 503 });
    const ac = new AbortController();
    const t0 = Date.now();
    const call = slow.products.list({ signal: ac.signal }).catch((e: unknown) => e);
    await vi.waitFor(() => expect(emu.callCount('products.list')).toBe(1));
    ac.abort();
    expect(await call).toMatchObject({ name: 'AbortError', code: 'aborted' });
    expect(Date.now() - t0).toBeLessThan(3_000);
  });

  it('an abort during an attempt rejects with AbortError and is not retried; an aborted signal sends nothing', async () => {
    emu.inject({ endpoint: 'tiers.list', kind: 'latency', ms: 5_000 });
    const ac = new AbortController();
    const call = client.tiers.list({}, { signal: ac.signal }).catch((e: unknown) => e);
    await vi.waitFor(() => expect(emu.callCount('tiers.list')).toBe(1));
    ac.abort();
    expect(await call).toMatchObject({ name: 'AbortError', code: 'aborted' });
    expect(waits).toEqual([]);
    emu.resetCalls();
    await expect(client.products.list({ signal: AbortSignal.abort() })).rejects.toMatchObject({ code: 'aborted' });
    expect(emu.callCount()).toBe(0);
  });
});

describe('options', () => {
  it('createClient names a bad option and never echoes its value (it accepted them, or failed later without naming them)', () => {
    const key = 'sk_live_SECRET_never_print_0123456789';
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ timeoutMs: -1 }, '"timeoutMs"'],
      [{ timeoutMs: Number.NaN }, '"timeoutMs"'],
      [{ timeoutMs: 2 ** 31 }, '"timeoutMs"'],
      [{ baseUrl: 'nope' }, '"baseUrl"'],
      [{ baseUrl: 'ftp://x.example/' }, '"baseUrl"'],
      [{ maxRetries: -1 }, '"maxRetries"'],
      [{ retryBaseMs: 1.5 }, '"retryBaseMs"'],
      [{ retryMaxMs: -5 }, '"retryMaxMs"'],
      [{ connections: 0 }, '"connections"'],
      [{ authScheme: 'basic' }, '"authScheme"'],
      [{ sleep: 5 }, '"sleep"'],
      [{ dispatcher: {} }, '"dispatcher"'],
      [{ tmeoutMs: 5 }, 'unknown option "tmeoutMs"'],
    ];
    for (const [bad, named] of cases) {
      let err: unknown;
      try {
        createClient({ apiKey: key, ...bad } as ClientOptions);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(TypeError);
      expect((err as Error).message).toContain(named);
      expect((err as Error).message).not.toContain(key);
    }
    expect(() => createClient(undefined as never)).toThrow(/"apiKey"/);
  });

  it('refuses an API key that cannot be a header value, naming apiKey, never echoing it (undici refused each request, retried as ConnectionError)', () => {
    for (const apiKey of ['', 'sk_line\nbreak_SECRET', 'sk with space SECRET', 'sk\ttab_SECRET', 'sk_ключ_SECRET', 'sk\u0000nul_SECRET']) {
      let err: unknown;
      try {
        createClient({ apiKey, baseUrl: emu.url });
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(TypeError);
      expect((err as Error).message).toMatch(/"apiKey"/);
      expect((err as Error).message).not.toContain('SECRET');
    }
  });
});

describe('account refs and paths', () => {
  it('refuses empty, over-long, dot-segment and control-character refs before any request', async () => {
    for (const ref of ['', '.', '..', '%2e', '%2E%2e', '.%2e', 'a\u0000', 'tab\there', 'x'.repeat(257)]) {
      await expect(client.accounts.status({ accountRefId: ref })).rejects.toBeInstanceOf(ValidationError);
      await expect(client.entitlements.check({ accountRefId: ref, productCode: 'p', entitlementCode: 'e' })).rejects.toBeInstanceOf(ValidationError);
    }
    expect(emu.calls).toHaveLength(0);
  });

  it('refuses refs with a lone surrogate (encodeURIComponent threw, read as an outage; a query sent U+FFFD, another account)', async () => {
    emu.setAccount('acme\ufffd', { customerEmail: 'other@example.com', subscriptions: [{ subscription: 'studio-suite', tier: 'pro' }] });
    emu.setEntitlement('acme\ufffd', 'pro-api', 'api_access', true);
    for (const ref of ['\ud800', 'acme\ud800', 'acme\udfff', '\udc00acme', 'a\udbff\udbffb']) {
      for (const call of [
        client.accounts.status({ accountRefId: ref }),
        client.transactions.list({ accountRefId: ref }),
        client.entitlements.check({ accountRefId: ref, productCode: 'pro-api', entitlementCode: 'api_access' }),
        client.credits.debit({ accountRefId: ref, productCode: 'ai-images', meterCode: 'credits', quantity: 1, eventKey: 'k' }),
      ]) {
        const err = await call.catch((e: unknown) => e);
        expect(err).toBeInstanceOf(ValidationError);
        expect((err as ValidationError).fields).toEqual({ account_ref_id: ['must be well-formed Unicode (no lone surrogates)'] });
      }
    }
    expect(emu.calls).toHaveLength(0);
    // Through the gate, even with failMode open: a 401 denial, not an "outage" that allows.
    await using env = await gateEnv({ emu, gate: { failMode: 'open' } });
    const { gate } = env;
    for (const ref of ['\ud800', 'acme\ud800']) {
      expect(await gate.checkTier(ref, { tiers: 'pro' })).toMatchObject({ allowed: false, code: 'account_unresolved', status: 401 });
      expect(await gate.checkEntitlement(ref, { product: 'pro-api', entitlement: 'api_access' })).toMatchObject({ allowed: false, status: 401 });
    }
    expect(gate.stats()).toMatchObject({ upstreamErrors: 0, failOpenAllowed: 0 });
    await gate.close();
    expect(emu.calls).toHaveLength(0);
    // A well-formed pair is an ordinary character.
    emu.setAccount('acme\ud83d\ude00', { customerEmail: 'e@example.com' });
    expect((await client.accounts.status({ accountRefId: 'acme\ud83d\ude00' })).account_ref_id).toBe('acme\ud83d\ude00');
  });

  it('percent-encodes a ref into one path segment', async () => {
    emu.setAccount('a b/c?d#e%2F', { customerEmail: 'odd@example.com', subscriptions: [{ subscription: 'studio-suite', tier: 'pro' }] });
    const s = await client.accounts.status({ accountRefId: 'a b/c?d#e%2F' });
    expect(s.account_ref_id).toBe('a b/c?d#e%2F');
    expect(emu.calls[0]).toMatchObject({ endpoint: 'accounts.status', path: '/api/account/a%20b%2Fc%3Fd%23e%252F/status/' });
  });
});
