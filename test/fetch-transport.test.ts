// The fetch sender (the default on Bun and Deno), forced on Node: the same retries, timeouts per
// attempt, error types and idempotency as the undici pool, against the emulator's faults.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createClient, createGate, RateLimitError, ServerError, TimeoutError } from 'ecom9-gate';
import type { Emulator } from 'ecom9-gate/emulator';
import { startEmulator } from './support/env';

let emu: Emulator;
beforeAll(async () => {
  emu = await startEmulator();
});
afterAll(async () => {
  await emu.close();
});
beforeEach(() => {
  emu.clearFaults();
  emu.resetCalls();
  emu.setCredits('acme', 'ai-images', 'credits', 100);
});

const client = (o: Parameters<typeof createClient>[0] extends infer T ? Partial<T> : never = {}) =>
  createClient({ apiKey: emu.apiKey, baseUrl: emu.url, transport: 'fetch', timeoutMs: 2_000, maxRetries: 2, retryBaseMs: 1, retryMaxMs: 5, ...o });

describe('transport: fetch', () => {
  it('reads, and retries a 503 until it clears, with one call per attempt', async () => {
    const c = client();
    emu.inject({ endpoint: 'accounts.status', kind: 'status', status: 503, times: 2 });
    expect((await c.accounts.status({ accountRefId: 'acme' })).customer_email).toBe('ops@acme.example');
    expect(emu.callCount('accounts.status', 'acme')).toBe(3);
    emu.inject({ endpoint: 'accounts.status', kind: 'status', status: 503 });
    await expect(c.accounts.status({ accountRefId: 'acme' })).rejects.toBeInstanceOf(ServerError);
    await c.close();
  });

  it('times out each attempt and gives a TimeoutError after the retries', async () => {
    const c = client({ timeoutMs: 100, maxRetries: 1 });
    emu.inject({ endpoint: 'accounts.status', kind: 'latency', ms: 1_000 });
    const t0 = performance.now();
    await expect(c.accounts.status({ accountRefId: 'acme' })).rejects.toBeInstanceOf(TimeoutError);
    // Without a timeout per attempt the two attempts would take 2 s.
    expect(performance.now() - t0).toBeLessThan(1_900);
    expect(emu.callCount('accounts.status', 'acme')).toBe(2);
    await c.close();
  });

  it('charges a debit retried after a dropped connection once (its event_key), and maps 429 to RateLimitError', async () => {
    const c = client();
    emu.inject({ endpoint: 'credits.debit', kind: 'drop', dropAfterProcessing: true, times: 1 });
    const d = await c.credits.debit({ accountRefId: 'acme', productCode: 'ai-images', meterCode: 'credits', quantity: 5, eventKey: 'fetch-drop-1' });
    expect(d).toMatchObject({ approved: true, remaining_balance: 95 });
    expect(emu.credits('acme', 'ai-images', 'credits')).toBe(95);
    emu.inject({ endpoint: 'accounts.status', kind: 'rate_limit', retryAfter: 60 });
    await expect(client({ maxRetries: 0 }).accounts.status({ accountRefId: 'acme' })).rejects.toBeInstanceOf(RateLimitError);
    await c.close();
  });

  it('refuses a call after close() as a client-state error, without sending it', async () => {
    const c = client();
    await c.close();
    await expect(c.accounts.status({ accountRefId: 'acme' })).rejects.toMatchObject({ message: expect.stringMatching(/the client is closed/) });
    expect(emu.callCount()).toBe(0);
  });

  it('refuses an unknown transport at start-up, naming the option', () => {
    expect(() => client({ transport: 'curl' as never })).toThrow(/^ecom9-gate: createClient: invalid options: .*transport/);
    expect(() => createGate({ apiKey: 'k', http: { transport: 'curl' as never } })).toThrow(/http\.transport/);
  });
});
