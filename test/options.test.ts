// createGate's options are checked once, at start-up: a wrong or unknown option names itself, and
// no message ever echoes a secret.
import { describe, expect, it } from 'vitest';
import { createGate } from 'ecom9-gate';
import { startEmulator } from './support/env';

const KEY = 'sk_live_do_not_print_me';

function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected a throw');
}

describe('createGate options', () => {
  it('requires an API key and says where it can come from', () => {
    const prev = process.env.ECOM9_API_KEY;
    delete process.env.ECOM9_API_KEY;
    try {
      expect(thrown(() => createGate({})).message).toMatch(/"apiKey".*ECOM9_API_KEY/);
    } finally {
      if (prev !== undefined) process.env.ECOM9_API_KEY = prev;
    }
  });

  it('names an unknown option, nested ones by their path', () => {
    expect(thrown(() => createGate({ apiKey: KEY, cahce: {} } as never)).message).toMatch(/unknown option "cahce"/);
    expect(thrown(() => createGate({ apiKey: KEY, cache: { ttl: 5 } } as never)).message).toMatch(/unknown option "cache.ttl"/);
  });

  it('names an option of the wrong type or range', () => {
    expect(thrown(() => createGate({ apiKey: KEY, failMode: 'maybe' as never })).message).toMatch(/"failMode"/);
    expect(thrown(() => createGate({ apiKey: KEY, cache: { max: 0 } })).message).toMatch(/"cache.max"/);
    expect(thrown(() => createGate({ apiKey: KEY, baseUrl: 'ftp://x' })).message).toMatch(/"baseUrl"/);
    expect(thrown(() => createGate({ apiKey: KEY, onError: 'log' as never })).message).toMatch(/"onError"/);
    // Only warn() is required, and the message says so.
    expect(thrown(() => createGate({ apiKey: KEY, logger: { error() {} } as never })).message).toMatch(/"logger" expected an object with a warn\(\) method$/);
  });

  it('never echoes the key or the webhook secret in its errors', () => {
    const e = thrown(() => createGate({ apiKey: KEY, webhookSecret: 'whsec_c2VjcmV0', failMode: 'nope' as never }));
    expect(e).toBeInstanceOf(TypeError);
    expect(`${e.message} ${e.stack} ${JSON.stringify(e)}`).not.toMatch(/do_not_print_me|c2VjcmV0/);
  });

  // Neither option is given: a check that reaches the emulator and is allowed used both.
  it('takes the key and base URL from the environment', async () => {
    const emu = await startEmulator();
    process.env.ECOM9_API_KEY = emu.apiKey;
    process.env.ECOM9_BASE_URL = emu.url;
    try {
      const gate = createGate({ logger: { warn: () => {} } });
      expect(await gate.checkTier('acme', { tiers: 'pro' })).toMatchObject({ allowed: true, source: 'upstream' });
      expect(emu.callCount('accounts.status', 'acme')).toBe(1);
      await gate.close();
    } finally {
      delete process.env.ECOM9_API_KEY;
      delete process.env.ECOM9_BASE_URL;
      await emu.close();
    }
  });
});
