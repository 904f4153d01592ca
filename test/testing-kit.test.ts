// ecom9-gate/testing itself: the wiring, each state helper seen by the very next check, the readers,
// the test settings (fast retries, nothing stale unless asked), close() leaving no handle, and the
// same kit under node:test.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestGate, type TestGate } from 'ecom9-gate/testing';

const root = fileURLToPath(new URL('..', import.meta.url));

describe('createTestGate', () => {
  let t: TestGate;
  beforeAll(async () => {
    t = await createTestGate();
  });
  afterAll(() => t.close());

  it('wires a gate to the emulator with its key and secret', async () => {
    expect((await t.gate.checkTier('acme', { tiers: 'pro' })).allowed).toBe(true);
    expect(t.calls('accounts.status', 'acme')).toBe(1);
    expect(t.gate.stats().cacheMisses).toBe(1);
  });

  it('setTier and cancel reach the gate before they resolve: the next check, not the next TTL', async () => {
    expect((await t.gate.checkTier('umbrella', { tiers: 'pro' })).code).toBe('tier_required');
    await t.gate.checkTier('umbrella', { tiers: 'pro' });
    expect(t.calls('accounts.status', 'umbrella')).toBe(1); // the denial is cached
    await t.setTier('umbrella', 'studio-suite', 'pro');
    expect((await t.gate.checkTier('umbrella', { tiers: 'pro' })).allowed).toBe(true);
    await t.cancel('umbrella', 'studio-suite');
    expect((await t.gate.checkTier('umbrella', { tiers: 'pro' })).allowed).toBe(false);
    expect(t.calls('accounts.status', 'umbrella')).toBe(3);
    expect(t.gate.stats().webhooksReceived).toBe(2);
  });

  it('setTier with a state other than active, as ecom9 would report a failed payment', async () => {
    await t.setTier('soylent', 'studio-suite', 'pro');
    expect((await t.gate.checkTier('soylent', { tiers: 'pro' })).allowed).toBe(true);
    await t.setTier('soylent', 'studio-suite', 'pro', 'past_due');
    expect((await t.gate.checkTier('soylent', { tiers: 'pro' })).allowed).toBe(false);
  });

  it('cancel refuses an account with no such active subscription, naming it', async () => {
    await expect(t.cancel('nobody', 'studio-suite')).rejects.toThrow(/"nobody" has no active "studio-suite"/);
  });

  it('setEntitlement flips a cached entitlement', async () => {
    const opts = { product: 'pro-api', entitlement: 'bulk_export' };
    expect((await t.gate.checkEntitlement('acme', opts)).allowed).toBe(false);
    await t.setEntitlement('acme', 'pro-api', 'bulk_export', true);
    expect((await t.gate.checkEntitlement('acme', opts)).allowed).toBe(true);
  });

  it('setCredits, credits and debited: what ecom9 holds and what was charged, once per key', async () => {
    await t.setCredits('wonka', 'ai-images', 'credits', 10);
    const input = { accountRefId: 'wonka', product: 'ai-images', meter: 'credits', quantity: 4, eventKey: 'k1' };
    expect((await t.gate.debitCredits(input)).allowed).toBe(true);
    expect((await t.gate.debitCredits(input)).allowed).toBe(true);
    expect(t.debited('wonka', 'ai-images', 'credits')).toBe(4);
    expect(t.credits('wonka', 'ai-images', 'credits')).toBe(6);
    expect((await t.gate.debitCredits({ ...input, quantity: 7, eventKey: 'k2' })).code).toBe('insufficient_credits');
    expect(t.debited('wonka', 'ai-images', 'credits')).toBe(4);
  });

  it('recorded waits for queued usage to be delivered', async () => {
    for (let i = 0; i < 3; i++) t.gate.recordUsage({ accountRefId: 'acme', product: 'api-access', meter: 'api_calls', quantity: 2, eventKey: `u${i}` });
    expect(await t.recorded('acme', 'api-access', 'api_calls')).toBe(6);
  });

  it('retries fast: two 503s then an answer, without the default half-second backoff', async () => {
    t.emulator.inject({ endpoint: 'accounts.status', kind: 'status', status: 503, times: 2 });
    const started = performance.now();
    expect((await t.gate.checkTier('initech', { tiers: 'starter' })).code).toBe('tier_required');
    expect(t.calls('accounts.status', 'initech')).toBe(3);
    expect(performance.now() - started).toBeLessThan(500); // the default backoff alone is 500 ms + 1,000 ms
  });
});

describe('createTestGate settings', () => {
  it('serves nothing stale unless asked, on an injected clock', async () => {
    let now = 1_000_000;
    for (const staleIfErrorMs of [undefined, 600_000]) {
      const t = await createTestGate({ now: () => now, gate: staleIfErrorMs ? { cache: { staleIfErrorMs } } : {} });
      try {
        expect((await t.gate.checkTier('acme', { tiers: 'pro' })).allowed).toBe(true);
        now += 61_000; // past the 60 s TTL
        t.emulator.inject({ endpoint: 'accounts.status', kind: 'status', status: 503, times: 3 });
        const d = await t.gate.checkTier('acme', { tiers: 'pro' });
        expect([d.status, d.source]).toEqual(staleIfErrorMs ? [200, 'stale'] : [503, 'upstream']);
      } finally {
        await t.close();
      }
    }
  });

  it('collects what the gate reports in the background and still calls the given onError', async () => {
    const seen: unknown[] = [];
    const t = await createTestGate({ gate: { onError: (e) => seen.push(e), usage: { maxAttempts: 1 } } });
    try {
      t.emulator.inject({ endpoint: 'usage.record', kind: 'status', status: 400, times: 1 });
      t.gate.recordUsage({ accountRefId: 'acme', product: 'api-access', meter: 'api_calls', quantity: 1, eventKey: 'bad' });
      await t.gate.flush();
      expect(t.errors.length).toBe(1);
      expect(seen).toEqual(t.errors);
    } finally {
      await t.close();
    }
  });

  it('its helpers work on an injected clock far from the real one (the webhook is signed on that clock)', async () => {
    let now = 1_000_000;
    const t = await createTestGate({ now: () => now });
    try {
      await t.setTier('clocked', 'studio-suite', 'pro');
      expect((await t.gate.checkTier('clocked', { tiers: 'pro' })).allowed).toBe(true);
      now += 3_600_000; // an hour on: past the webhook tolerance, had the signature used the real clock
      await t.cancel('clocked', 'studio-suite');
      expect((await t.gate.checkTier('clocked', { tiers: 'pro' })).allowed).toBe(false);
    } finally {
      await t.close();
    }
  });

  it('refuses options that are no object, naming the function', async () => {
    await expect(createTestGate(null as never)).rejects.toThrow(/createTestGate\(options\)/);
  });
});

/** Runs a node process to its own end (no process.exit), failing past `ms`: an open handle keeps it alive. */
function runNode(args: string[], ms: number): Promise<{ code: number | null; out: string; timedOut: boolean }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { cwd: root, env: { ...process.env, NODE_OPTIONS: '' } });
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b));
    child.stderr.on('data', (b: Buffer) => (out += b));
    const timer = setTimeout(() => child.kill('SIGKILL'), ms);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, out, timedOut: signal === 'SIGKILL' });
    });
  });
}

describe('under node:test', () => {
  it('the kit works the same and close() leaves no open handle (the process ends by itself)', async () => {
    const r = await runNode(['--import', 'tsx', '--test', '--test-reporter=tap', 'test/node/testing-kit.node.ts'], 30_000);
    expect(r.timedOut, r.out).toBe(false);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toMatch(/# pass [1-9]/);
    expect(r.out).toMatch(/# fail 0/);
  }, 40_000);

  it('a gate option that fails closes the emulator it had started (the process ends by itself)', async () => {
    const script =
      "import { createTestGate } from 'ecom9-gate/testing'; await createTestGate({ gate: { cache: { ttlMs: -1 } } }).then(() => process.exit(3), (e) => console.log(e.code));";
    const r = await runNode(['--import', 'tsx', '--input-type=module', '-e', script], 10_000);
    expect(r.timedOut, r.out).toBe(false);
    expect(r.out).toMatch(/invalid_options/);
  }, 15_000);

  it('an emulator left listening keeps the process alive (so the check above can fail)', async () => {
    const script =
      "import { createTestGate } from 'ecom9-gate/testing'; const t = await createTestGate(); await t.gate.checkTier('acme', { tiers: 'pro' }); await t.gate.close();";
    const r = await runNode(['--import', 'tsx', '--input-type=module', '-e', script], 2_500);
    expect(r.timedOut, r.out).toBe(true);
  }, 10_000);
});
