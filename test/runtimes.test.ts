// The gate on the real Bun and Deno binaries (dev dependencies): the core alone, against the emulator
// running here on Node, which counts what reached it.
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Emulator } from 'ecom9-gate/emulator';
import { startEmulator } from './support/env';
import { testFixtures } from './support/apps';
import { assertDistFresh, ROOT, runScript, RUNTIMES, type Runtime } from './support/runtimes';

let emu: Emulator;
let deadUrl: string;
let dir: string;
beforeAll(async () => {
  assertDistFresh();
  emu = await startEmulator({ fixtures: testFixtures() });
  // A port that was just free and is closed again: connection refused, at once.
  const probe = createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  deadUrl = `http://127.0.0.1:${(probe.address() as { port: number }).port}/api/`;
  await new Promise<void>((r) => probe.close(() => r()));
  dir = mkdtempSync(join(tmpdir(), 'ecom9-runtimes-'));
});
afterAll(async () => {
  await emu?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe.each(Object.keys(RUNTIMES) as Runtime[])('the core on %s', (rt) => {
  it('runs the client, gate, usage spool, webhooks and the emulator itself', async () => {
    emu.setAccount('rt-pro', { customerEmail: 'rt@example.com', subscriptions: [{ subscription: 'studio-suite', tier: 'pro' }] });
    emu.setAccount('rt-free', { customerEmail: 'free@example.com', subscriptions: [{ subscription: 'studio-suite', tier: 'starter' }] });
    emu.setCredits('rt-pro', 'ai-images', 'credits', 10);
    const usageBefore = emu.usageTotal('rt-pro', 'api-access', 'api_calls');
    emu.resetCalls();
    const spool = join(dir, `${rt}.jsonl`);
    const r = await runScript(rt, `${ROOT}test/runtime/core.ts`, { ECOM9_BASE_URL: emu.url, ECOM9_API_KEY: emu.apiKey, DEAD_URL: deadUrl, SPOOL_PATH: spool });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout.trim().split('\n').at(-1) ?? '{}');
    expect(out).toEqual({
      runtime: rt,
      status: 'rt@example.com',
      debits: [8, 8],
      notFound: 'NotFoundError',
      tier: ['allowed', 'cache'],
      starter: 'tier_required',
      dead: 'connection_failed',
      localTier: true,
      localCalls: 1,
      webhook: 200,
      forged: 401,
      seen: ['acme'],
    });
    // One debit charged for two sends of one event_key; one status call for two tier checks.
    expect(emu.credits('rt-pro', 'ai-images', 'credits')).toBe(8);
    expect(emu.callCount('credits.debit', 'rt-pro')).toBe(2);
    expect(emu.callCount('accounts.status', 'rt-pro')).toBe(2);
    // The event recorded during the outage arrived once, after the restart, from the journal.
    expect(emu.usageTotal('rt-pro', 'api-access', 'api_calls') - usageBefore).toBe(3);
    expect(emu.usageEvents.filter((e) => e.eventKey === `rt-spool-${rt}`)).toHaveLength(1);
  });
});
