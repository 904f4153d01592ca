// Every error class the package exports has a stable code, the one message prefix, and a row in
// docs/errors.md; what reaches onError from the background is one of them, with its code.
import { readFileSync } from 'node:fs';
import { describe, expect, it, vi } from 'vitest';
import * as core from 'ecom9-gate';
import { redisBus } from 'ecom9-gate/redis';
import { gateEnv } from './support/gate-env';

const docs = readFileSync(new URL('../docs/errors.md', import.meta.url), 'utf8');
type AnyError = new (...args: unknown[]) => Error & { code: string };
const classes = (Object.entries(core) as [string, unknown][]).filter(
  (e): e is [string, AnyError] => typeof e[1] === 'function' && (e[1] as { prototype?: unknown }).prototype instanceof Error,
);

describe('error classes', () => {
  it('are all exported, each with its own code, the prefix, and a row in docs/errors.md', () => {
    expect(classes.map(([name]) => name)).toEqual(
      expect.arrayContaining(['OptionsError', 'ArgumentError', 'AbortedError', 'ClientStateError', 'UsageDeliveryError']),
    );
    const codes = new Set<string>();
    for (const [name, Cls] of classes) {
      const e = new Cls('something went wrong', {}, {});
      expect(typeof e.code, name).toBe('string');
      expect(codes.has(e.code), `${name}: code ${e.code} is taken`).toBe(false);
      codes.add(e.code);
      expect(e.message).toBe('ecom9-gate: something went wrong');
      expect(docs, name).toContain(`| \`${name}\` | \`${e.code}\` |`);
    }
    expect(codes.size).toBeGreaterThanOrEqual(20);
  });

  it('keeps bad options and arguments TypeErrors, and everything else an Ecom9Error', () => {
    for (const [name, Cls] of classes) {
      const e = new Cls('x', {}, {});
      expect(e instanceof TypeError || core.isEcom9Error(e), name).toBe(true);
    }
    expect(() => core.createGate({ apiKey: 'k', failMode: 'maybe' as never })).toThrow(core.OptionsError);
  });

  it('lists every Decision code with its status', () => {
    for (const code of [
      'account_unresolved',
      'tier_required',
      'entitlement_required',
      'insufficient_credits',
      'payment_required',
      'upstream_unavailable',
      'misconfigured',
      'invalid_quantity',
    ] as const) {
      expect(docs).toContain(`| \`${code}\` | ${core.deny(code, 'cache').status} |`);
    }
  });
});

// Each test has its own emulator and gate (test/support/gate-env.ts), closed when it ends, pass or fail.
describe('what reaches onError', () => {
  it('a refused API key: MisconfigurationError, code misconfigured, the client error as its cause', async () => {
    await using env = await gateEnv({ gate: { apiKey: 'sk_wrong_key_never_printed' } });
    const { gate, reported } = env;
    expect(await gate.checkTier('acme', { tiers: 'pro' })).toMatchObject({ code: 'misconfigured', status: 500 });
    expect(reported).toHaveLength(1);
    expect(reported[0]).toBeInstanceOf(core.MisconfigurationError);
    expect(reported[0]).toMatchObject({ code: 'misconfigured', message: expect.stringMatching(/^ecom9-gate: ecom9 refused the API key/) });
    expect((reported[0] as Error).cause).toBeInstanceOf(core.AuthenticationError);
  });

  it('a debit ecom9 refuses for the product: MisconfigurationError; an undeliverable usage event: UsageDeliveryError', async () => {
    await using env = await gateEnv({ gate: { usage: { aggregateMs: 0 } } });
    const { gate, reported } = env;
    await gate.debitCredits({ accountRefId: 'buyer', product: 'api-access', meter: 'api_calls', quantity: 1 });
    gate.recordUsage({ accountRefId: 'user', product: 'ai-images', meter: 'credits' });
    await gate.flush();
    expect(reported.map((e) => [(e as Error).constructor.name, (e as { code?: string }).code])).toEqual([
      ['MisconfigurationError', 'misconfigured'],
      ['UsageDeliveryError', 'usage_not_delivered'],
    ]);
  });

  it('Redis down: BusUnavailableError, code bus_unavailable', async () => {
    const bus = redisBus({ url: 'redis://127.0.0.1:1', redisOptions: { retryStrategy: () => 1_000 } });
    await using env = await gateEnv({ gate: { bus } });
    const { reported } = env;
    await vi.waitFor(() => expect(reported).toHaveLength(1));
    expect(reported[0]).toBeInstanceOf(core.BusUnavailableError);
    expect(reported[0]).toMatchObject({ code: 'bus_unavailable' });
  });

  it('the client rejects with AbortedError, exported and coded', async () => {
    await using env = await gateEnv();
    const client = core.createClient({ apiKey: env.emu.apiKey, baseUrl: env.emu.url });
    const err = await client.products.list({ signal: AbortSignal.abort() }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(core.AbortedError);
    expect(err).toMatchObject({ name: 'AbortError', code: 'aborted' });
    await client.close();
  });
});
