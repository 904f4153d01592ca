// createGate's options and createClient's share one set of rules and defaults (OPTION_DEFAULTS): the
// gate's `http` is the client's, a bad key is refused by createGate itself, and what is left out
// comes out as the documented default.
import { describe, expect, it } from 'vitest';
import { createClient, createGate, OPTION_DEFAULTS, OptionsError } from 'ecom9-gate';
import { parseClientOptions } from '../src/client/options';
import { parseGateOptions } from '../src/gate/options';

function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected a throw');
}

describe('option defaults, stated once', () => {
  it('fill in every option left out, for the gate and the client alike', () => {
    const o = parseGateOptions({ apiKey: 'k' }, {});
    expect(o).toMatchObject({
      baseUrl: OPTION_DEFAULTS.baseUrl,
      authScheme: OPTION_DEFAULTS.authScheme,
      failMode: OPTION_DEFAULTS.failMode,
      cache: OPTION_DEFAULTS.cache,
      http: OPTION_DEFAULTS.http,
      usage: OPTION_DEFAULTS.usage,
      webhooks: OPTION_DEFAULTS.webhooks,
    });
    expect(parseClientOptions({ apiKey: 'k' })).toEqual({
      apiKey: 'k',
      baseUrl: OPTION_DEFAULTS.baseUrl,
      authScheme: OPTION_DEFAULTS.authScheme,
      ...OPTION_DEFAULTS.http,
    });
    expect(OPTION_DEFAULTS).toMatchObject({ cache: { ttlMs: 60_000, staleIfErrorMs: 300_000, max: 10_000 }, http: { timeoutMs: 5_000 }, failMode: 'closed' });
  });

  it('cannot be changed at run time', () => {
    expect(Object.isFrozen(OPTION_DEFAULTS) && Object.isFrozen(OPTION_DEFAULTS.http) && Object.isFrozen(OPTION_DEFAULTS.cache)).toBe(true);
  });
});

describe("the gate's http options are the client's", () => {
  it("take the client's upper bound on timeoutMs, named by its full path", () => {
    const e = thrown(() => createGate({ apiKey: 'k', http: { timeoutMs: 2 ** 31 } }));
    expect(e).toBeInstanceOf(OptionsError);
    expect(e.message).toMatch(/^ecom9-gate: createGate: invalid options: "http\.timeoutMs"/);
    expect(e.message).not.toContain(String(2 ** 31));
    expect(thrown(() => createClient({ apiKey: 'k', timeoutMs: 2 ** 31 })).message).toMatch(/"timeoutMs"/);
  });

  it('refuse an API key the client would refuse, in createGate, without echoing it', () => {
    const e = thrown(() => createGate({ apiKey: 'sk live with spaces' }));
    expect(e).toBeInstanceOf(TypeError);
    expect(e.message).toMatch(/createGate: invalid options: "apiKey" must be printable ASCII/);
    expect(e.message).not.toMatch(/createClient|sk live/);
  });
});
