// Every error class the package exports has a stable code, the one message prefix, and a row in
// docs/errors.md; what reaches onError from the background is one of them, with its code.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import * as core from 'ecom9-gate';
import type { Emulator } from 'ecom9-gate/emulator';
import { redisBus } from 'ecom9-gate/redis';
import { gateFor, startEmulator } from './support/env';

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

describe('what reaches onError', () => {
  let emu: Emulator;
  beforeAll(async () => {
    emu = await startEmulator();
  });
  afterAll(() => emu.close());

  it('a refused API key: MisconfigurationError, code misconfigured, the client error as its cause', async () => {
    const reported: unknown[] = [];
    const gate = gateFor(emu, { apiKey: 'sk_wrong_key_never_printed', onError: (e) => reported.push(e) });
    expect(await gate.checkTier('acme', { tiers: 'pro' })).toMatchObject({ code: 'misconfigured', status: 500 });
    expect(reported).toHaveLength(1);
    expect(reported[0]).toBeInstanceOf(core.MisconfigurationError);
    expect(reported[0]).toMatchObject({ code: 'misconfigured', message: expect.stringMatching(/^ecom9-gate: ecom9 refused the API key/) });
    expect((reported[0] as Error).cause).toBeInstanceOf(core.AuthenticationError);
    await gate.close();
  });

  it('a debit ecom9 refuses for the product: MisconfigurationError; an undeliverable usage event: UsageDeliveryError', async () => {
    const reported: unknown[] = [];
    const gate = gateFor(emu, { onError: (e) => reported.push(e), usage: { aggregateMs: 0 } });
    await gate.debitCredits({ accountRefId: 'buyer', product: 'api-access', meter: 'api_calls', quantity: 1 });
    gate.recordUsage({ accountRefId: 'user', product: 'ai-images', meter: 'credits' });
    await gate.flush();
    expect(reported.map((e) => [(e as Error).constructor.name, (e as { code?: string }).code])).toEqual([
      ['MisconfigurationError', 'misconfigured'],
      ['UsageDeliveryError', 'usage_not_delivered'],
    ]);
    await gate.close();
  });

  it('Redis down: BusUnavailableError, code bus_unavailable', async () => {
    const reported: unknown[] = [];
    const bus = redisBus({ url: 'redis://127.0.0.1:1', redisOptions: { retryStrategy: () => 1_000 } });
    const gate = gateFor(emu, { bus, onError: (e) => reported.push(e) });
    await vi.waitFor(() => expect(reported).toHaveLength(1));
    expect(reported[0]).toBeInstanceOf(core.BusUnavailableError);
    expect(reported[0]).toMatchObject({ code: 'bus_unavailable' });
    await gate.close();
  });

  it('the client rejects with AbortedError, exported and coded', async () => {
    const client = core.createClient({ apiKey: emu.apiKey, baseUrl: emu.url });
    const err = await client.products.list({ signal: AbortSignal.abort() }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(core.AbortedError);
    expect(err).toMatchObject({ name: 'AbortError', code: 'aborted' });
    await client.close();
  });
});
