// createGate's options are checked once, at start-up: a wrong or unknown option names itself, and
// no message ever echoes a secret.
import { describe, expect, it } from 'vitest';
import { createGate } from 'ecom9-gate';

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

  it('takes the key and base URL from the environment', async () => {
    process.env.ECOM9_API_KEY = KEY;
    process.env.ECOM9_BASE_URL = 'http://127.0.0.1:9/api/';
    try {
      const gate = createGate();
      expect(gate.failMode).toBe('closed');
      await gate.close();
    } finally {
      delete process.env.ECOM9_API_KEY;
      delete process.env.ECOM9_BASE_URL;
    }
  });
});
