// No silent mistakes in options: every unknown key, in every options object, throws an OptionsError
// naming it and the nearest known name (case and common abbreviations counted), and a webhook secret
// that is not in `whsec_` form is refused at start-up, without echoing it.
import { describe, expect, it } from 'vitest';
import { createClient, createGate, OptionsError } from 'ecom9-gate';
import { createEmulator, type Fixtures } from 'ecom9-gate/emulator';
import { instrumentGate } from 'ecom9-gate/otel';
import { redisBus, redisStore } from 'ecom9-gate/redis';
import { createTestGate } from 'ecom9-gate/testing';
import { nearestName } from '../src/shared/nearest-name';

const KEY = 'sk_live_do_not_print_me';

function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected a throw');
}

describe('nearestName', () => {
  it('counts case, separators, abbreviations and a trailing Ms, not only edit distance', () => {
    expect(nearestName('subscripton', ['subscription', 'failMode'])).toBe('subscription');
    expect(nearestName('apikey', ['apiKey', 'baseUrl'])).toBe('apiKey');
    expect(nearestName('api_key', ['apiKey', 'baseUrl'])).toBe('apiKey');
    expect(nearestName('qty', ['product', 'meter', 'quantity'])).toBe('quantity');
    expect(nearestName('ttl', ['ttlMs', 'denyTtlMs', 'max'])).toBe('ttlMs');
    expect(nearestName('retries', ['maxRetries', 'timeoutMs'])).toBe('maxRetries');
    expect(nearestName('Pro', ['starter', 'pro', 'enterprise'])).toBe('pro');
    expect(nearestName('pro-apii', ['pro-api', 'ai-images'])).toBe('pro-api');
    expect(nearestName('failmod', ['failMode'])).toBe('failMode');
  });

  it('says nothing when nothing is near', () => {
    expect(nearestName('zebra', ['subscription', 'failMode', 'apiKey'])).toBeUndefined();
  });
});

describe('unknown options name the nearest known one', () => {
  it('createGate, nested ones by their full path', () => {
    const e = thrown(() => createGate({ apiKey: KEY, subscripton: 'x', cache: { ttl: 5 }, http: { timeout: 5 } } as never));
    expect(e).toBeInstanceOf(OptionsError);
    expect(e.message).toContain('unknown option "cache.ttl" (did you mean "cache.ttlMs"?)');
    expect(e.message).toContain('unknown option "http.timeout" (did you mean "http.timeoutMs"?)');
    expect(e.message).toContain('unknown option "subscripton"');
  });

  it('createGate({ apikey }): the missing apiKey is said as the typo it is', () => {
    const prev = process.env.ECOM9_API_KEY;
    delete process.env.ECOM9_API_KEY;
    try {
      const e = thrown(() => createGate({ apikey: KEY } as never));
      expect(e.message).toMatch(/"apiKey" is required .*you gave "apikey" \(did you mean "apiKey"\?\)/);
      expect(e.message).not.toContain('do_not_print_me');
    } finally {
      if (prev !== undefined) process.env.ECOM9_API_KEY = prev;
    }
  });

  it('createClient, redisBus, redisStore', () => {
    expect(thrown(() => createClient({ apiKey: KEY, retries: 2 } as never)).message).toContain('unknown option "retries" (did you mean "maxRetries"?)');
    expect(thrown(() => redisBus({ url: 'redis://127.0.0.1:6379', chanel: 'x' } as never)).message).toContain(
      'unknown option "chanel" (did you mean "channel"?)',
    );
    expect(thrown(() => redisStore({ url: 'redis://127.0.0.1:6379', prefx: 'x:' } as never)).message).toContain(
      'unknown option "prefx" (did you mean "prefix"?)',
    );
  });

  it('createTestGate and instrumentGate', async () => {
    await expect(createTestGate({ fixture: {} } as never)).rejects.toThrow('unknown option "fixture" (did you mean "fixtures"?)');
    const gate = createGate({ apiKey: KEY, baseUrl: 'http://127.0.0.1:9/api/' });
    try {
      expect(thrown(() => instrumentGate(gate, { meterprovider: {} } as never)).message).toContain(
        'unknown option "meterprovider" (did you mean "meterProvider"?)',
      );
    } finally {
      await gate.close();
    }
  });

  it("the emulator's fixtures: a misspelt key is refused, not left at its default", () => {
    const fixtures = { accounts: [{ account_ref_id: 'acme', subscriptions: [{ subscription: 'studio-suite', tier: 'pro', staet: 'canceled' }] }] };
    const e = thrown(() => createEmulator({ fixtures: fixtures as Fixtures }));
    expect(e).toBeInstanceOf(OptionsError);
    expect(e.message).toContain('accounts.0.subscriptions.0.staet: unknown field "staet" (did you mean "state"?)');
  });
});

describe('the webhook secret is checked at start-up', () => {
  it('refuses a secret without whsec_, or not base64 after it, naming the option and never the secret', () => {
    for (const [secret, where] of [
      ['my-plain-secret-value', '"webhookSecret" does not start with "whsec_"'],
      ['whsec_not base64!', '"webhookSecret" is not "whsec_" followed by base64'],
      [['whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 'my-plain-secret-value'], '"webhookSecret.1" does not start'],
    ] as const) {
      const e = thrown(() => createGate({ apiKey: KEY, webhookSecret: secret as string }));
      expect(e).toBeInstanceOf(OptionsError);
      expect(e.message).toContain(where);
      expect(e.message).not.toMatch(/plain-secret|not base64!/);
    }
  });

  it("takes a raw secret when webhooks.secretFormat is 'raw', and verifies with its own bytes", async () => {
    const { createHmac } = await import('node:crypto');
    const gate = createGate({ apiKey: KEY, baseUrl: 'http://127.0.0.1:9/api/', webhookSecret: 'my-plain-secret', webhooks: { secretFormat: 'raw' } });
    try {
      const body = JSON.stringify({ event: 'subscription-updated', transaction_id: 't-raw-1', account_ref_id: 'acme' });
      const ts = String(Math.floor(Date.now() / 1000));
      const mac = createHmac('sha256', 'my-plain-secret').update(`msg_1.${ts}.${body}`).digest('base64');
      const headers = { 'content-type': 'application/json', 'webhook-id': 'msg_1', 'webhook-timestamp': ts, 'webhook-signature': `v1,${mac}` };
      expect((await gate.handleWebhook({ rawBody: body, headers })).status).toBe(200);
    } finally {
      await gate.close();
    }
  });
});
