// Durable usage: a process killed between enqueue and send loses nothing, and a replay of an event
// ecom9 had already counted (its answer lost) is not counted twice.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Emulator } from 'ecom9-gate/emulator';
import { startEmulator } from './support/env';
import { gateEnv } from './support/gate-env';

let emu: Emulator;
beforeAll(async () => {
  emu = await startEmulator();
  emu.setAccount('spooler', { customerEmail: 's@example.com' });
});
afterAll(async () => {
  await emu.close();
});
beforeEach(() => {
  emu.clearFaults();
  emu.resetCalls();
});

const spoolFile = () => join(mkdtempSync(join(tmpdir(), 'ecom9-spool-')), 'usage.jsonl');
const total = (ref = 'spooler') => emu.usageTotal(ref, 'api-access', 'api_calls');

function child(spool: string, env: Record<string, string> = {}) {
  const proc = spawn(process.execPath, ['--import', 'tsx', join(__dirname, 'fixtures/spool-child.ts')], {
    env: { ...process.env, EMU_URL: emu.url, EMU_KEY: emu.apiKey, SPOOL: spool, ...env },
  }) as ChildProcessWithoutNullStreams;
  let buffered = '';
  const waiters: Array<() => void> = [];
  proc.stdout.on('data', (d: Buffer) => {
    buffered += d.toString();
    while (buffered.includes('ok\n')) {
      buffered = buffered.replace('ok\n', '');
      waiters.shift()?.();
    }
  });
  const send = (line: string) =>
    new Promise<void>((resolve) => {
      waiters.push(resolve);
      proc.stdin.write(`${line}\n`);
    });
  return { proc, send };
}

describe('usage spool', () => {
  it('replays events queued when the process was killed, counting each once', async () => {
    const spool = join(mkdtempSync(join(tmpdir(), 'ecom9-spool-')), 'usage.jsonl');
    const { proc, send } = child(spool);
    await send('record 5');
    await send('flush');
    expect(emu.usageTotal('spooler', 'api-access', 'api_calls')).toBe(5);
    // Two events reach ecom9 but their answers are lost; the rest hang until the process dies.
    emu.inject({ endpoint: 'usage.record', kind: 'drop', dropAfterProcessing: true, times: 2 });
    emu.inject({ endpoint: 'usage.record', kind: 'latency', ms: 60_000 });
    await send('record 5');
    // Killed once the two lost answers have been counted by ecom9.
    await vi.waitFor(() => expect(total()).toBe(7), { timeout: 10_000, interval: 10 });
    proc.kill('SIGKILL');
    await once(proc, 'exit');
    emu.clearFaults();
    const pendingLines = readFileSync(spool, 'utf8')
      .split('\n')
      .filter((l) => l.includes('"add"')).length;
    expect(pendingLines).toBeGreaterThanOrEqual(5);
    expect(emu.usageTotal('spooler', 'api-access', 'api_calls')).toBe(7);

    {
      await using restarted = await gateEnv({ emu, gate: { usage: { spoolPath: spool } } });
      await restarted.gate.flush();
      expect(emu.usageTotal('spooler', 'api-access', 'api_calls')).toBe(10);
      const keys = emu.usageEvents.filter((e) => e.accountRefId === 'spooler').map((e) => e.eventKey);
      expect(new Set(keys).size).toBe(10);
      expect(keys).toHaveLength(10);
    }
    // Everything delivered: the journal holds nothing pending any more.
    expect(readFileSync(spool, 'utf8')).toBe('');
  }, 30_000);

  it('replays summed (unkeyed) events killed before their window closed, and after it closed, once each', async () => {
    emu.setAccount('summed', { customerEmail: 's@example.com' });
    const spool = join(mkdtempSync(join(tmpdir(), 'ecom9-spool-')), 'usage.jsonl');
    // Window open: 4 raw events are in the journal, nothing sent yet.
    const first = child(spool, { AGG_MS: '600000', ACCOUNT: 'summed' });
    await first.send('anon 4');
    first.proc.kill('SIGKILL');
    await once(first.proc, 'exit');
    // Window closed: the aggregate of 3 replaced its parts in the journal, and hangs in flight.
    emu.inject({ endpoint: 'usage.record', accountRefId: 'summed', kind: 'latency', ms: 60_000 });
    const second = child(spool, { AGG_MS: '600000', ACCOUNT: 'summed' });
    await second.send('anon 3');
    emu.resetCalls();
    await second.send('seal');
    // Killed once the aggregate is in flight (its journal line was written before "ok").
    await vi.waitFor(() => expect(emu.callCount('usage.record', 'summed')).toBe(1), { timeout: 10_000, interval: 10 });
    second.proc.kill('SIGKILL');
    await once(second.proc, 'exit');
    emu.clearFaults();
    expect(emu.usageTotal('summed', 'api-access', 'api_calls')).toBe(0);
    {
      await using restarted = await gateEnv({ emu, gate: { usage: { spoolPath: spool } } });
      await restarted.gate.flush();
      // The replayed aggregate counts as the 3 events it sums, as it did before the crash.
      expect(restarted.gate.stats()).toMatchObject({ usageQueued: 7, usageSent: 7 });
    }
    expect(emu.usageTotal('summed', 'api-access', 'api_calls')).toBe(7);
  }, 30_000);
});

describe('what stays in the spool', () => {
  const keyed = (key: string) => ({ accountRefId: 'spooler', product: 'api-access', meter: 'api_calls', eventKey: key });

  it('keeps an event given up on during an outage, and sends it on the next start', async () => {
    const spool = spoolFile();
    const before = total();
    {
      await using first = await gateEnv({ emu, gate: { usage: { spoolPath: spool, maxAttempts: 2 } } });
      const { gate, reported } = first;
      emu.inject({ endpoint: 'usage.record', kind: 'status', status: 503 });
      gate.recordUsage(keyed(`outage-${Math.random()}`));
      await gate.flush();
      expect(gate.stats()).toMatchObject({ usageFailed: 1, usagePending: 0 });
      // The outage is said once as it starts (UpstreamUnreachableError); the event is reported on its own.
      expect(reported.map((e) => (e as Error).name)).toEqual(['UpstreamUnreachableError', 'UsageDeliveryError']);
      expect(reported[1]).toMatchObject({ name: 'UsageDeliveryError', spooled: true });
      expect((reported[1] as Error).message).toMatch(/not delivered after 2 attempts; it stays in the spool and is sent again on the next start/);
    }
    emu.clearFaults();
    {
      await using restarted = await gateEnv({ emu, gate: { usage: { spoolPath: spool } } });
      await restarted.gate.flush();
      expect(total() - before).toBe(1);
      expect(restarted.gate.stats()).toMatchObject({ usageSent: 1, usageFailed: 0 });
    }
    expect(readFileSync(spool, 'utf8')).toBe('');
  });

  it('keeps events refused for the API key (401) without retrying them, for the start with the right key', async () => {
    const spool = spoolFile();
    const before = total();
    {
      await using first = await gateEnv({ emu, gate: { usage: { spoolPath: spool } } });
      const { gate, reported } = first;
      emu.inject({ endpoint: 'usage.record', kind: 'status', status: 401 });
      gate.recordUsage(keyed(`auth-${Math.random()}`));
      await gate.flush();
      expect(emu.callCount('usage.record')).toBe(1);
      expect(gate.stats()).toMatchObject({ usageFailed: 1, usageRetried: 0 });
      expect(reported.find((e) => (e as Error).name === 'UsageDeliveryError')).toMatchObject({ spooled: true });
    }
    emu.clearFaults();
    {
      await using restarted = await gateEnv({ emu, gate: { usage: { spoolPath: spool } } });
      await restarted.gate.flush();
    }
    expect(total() - before).toBe(1);
  });

  it('marks an event ecom9 refuses for good as done: it is not sent again', async () => {
    const spool = spoolFile();
    {
      await using first = await gateEnv({ emu, gate: { usage: { spoolPath: spool } } });
      const { gate, reported } = first;
      gate.recordUsage({ accountRefId: 'spooler', product: 'ai-images', meter: 'credits', eventKey: `refused-${Math.random()}` });
      emu.inject({ endpoint: 'usage.record', accountRefId: 'spooler-400', kind: 'status', status: 400 });
      gate.recordUsage({ ...keyed(`invalid-${Math.random()}`), accountRefId: 'spooler-400' });
      await gate.flush();
      expect(gate.stats()).toMatchObject({ usageFailed: 2 });
      expect(reported.every((e) => (e as { spooled?: boolean }).spooled === false)).toBe(true);
    }
    expect(readFileSync(spool, 'utf8')).toBe('');
    emu.resetCalls();
    {
      await using restarted = await gateEnv({ emu, gate: { usage: { spoolPath: spool } } });
      await restarted.gate.flush();
    }
    expect(emu.callCount('usage.record')).toBe(0);
  });

  it('keeps a sum counted as its parts through every rewrite of the journal', async () => {
    const spool = spoolFile();
    const parts = [1, 2, 3].map((i) => ({ ...keyed(`part-${i}-${Math.random()}`), quantity: 2 }));
    const sum = { ...keyed(`agg_${Math.random()}`), quantity: 6 };
    writeFileSync(spool, parts.map((p) => `${JSON.stringify({ add: p })}\n`).join('') + `${JSON.stringify({ agg: sum, of: parts.map((p) => p.eventKey) })}\n`);
    // First start: ecom9 is down, the sum is given up on and kept; close() rewrites the journal.
    emu.inject({ endpoint: 'usage.record', kind: 'status', status: 503 });
    {
      await using first = await gateEnv({ emu, gate: { usage: { spoolPath: spool, maxAttempts: 1 } } });
      await first.gate.flush();
      expect(first.gate.stats()).toMatchObject({ usageQueued: 3, usageFailed: 3 });
    }
    emu.clearFaults();
    const before = total();
    {
      await using second = await gateEnv({ emu, gate: { usage: { spoolPath: spool } } });
      await second.gate.flush();
      expect(second.gate.stats()).toMatchObject({ usageQueued: 3, usageSent: 3 });
    }
    expect(total() - before).toBe(6);
  });

  it('reports unreadable journal lines once, with their count, and still sends the readable ones', async () => {
    const spool = spoolFile();
    const good = { add: { ...keyed(`good-${Math.random()}`), quantity: 1 } };
    writeFileSync(spool, `not json\n${JSON.stringify(good)}\n{"add":{"quantity":-1}}\n{"add":{"accountRef`);
    const before = total();
    await using env = await gateEnv({ emu, gate: { usage: { spoolPath: spool } } });
    const { gate, reported } = env;
    await gate.flush();
    expect(total() - before).toBe(1);
    expect(reported).toHaveLength(1);
    expect((reported[0] as Error).message).toMatch(/usage spool .*usage\.jsonl: skipped 3 unreadable line\(s\)/);
    await gate.close();
    expect(reported).toHaveLength(1);
  });

  it('seals a journaled sum early once it names 1,000 parts, so what it holds stays bounded', async () => {
    const spool = spoolFile();
    emu.setAccount('big-sum', { customerEmail: 'b@example.com' });
    await using env = await gateEnv({ emu, gate: { usage: { spoolPath: spool, aggregateMs: 600_000 } } });
    const { gate } = env;
    for (let i = 0; i < 1_001; i++) gate.recordUsage({ accountRefId: 'big-sum', product: 'api-access', meter: 'api_calls' });
    // The first 1,000 go out without a flush, long before the window closes; the 1,001st opens a new sum.
    await vi.waitFor(() => expect(total('big-sum')).toBe(1_000), { timeout: 10_000, interval: 10 });
    expect(gate.stats().usagePending).toBe(1);
    await gate.flush();
    await gate.close();
    expect(total('big-sum')).toBe(1_001);
    expect(readFileSync(spool, 'utf8')).toBe('');
  });
});
