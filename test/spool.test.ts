// Durable usage: a process killed between enqueue and send loses nothing, and a replay of an event
// ecom9 had already counted (its answer lost) is not counted twice.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Emulator } from 'ecom9-gate/emulator';
import { gateFor, startEmulator } from './support/env';

let emu: Emulator;
beforeAll(async () => {
  emu = await startEmulator();
  emu.setAccount('spooler', { customerEmail: 's@example.com' });
});
afterAll(async () => {
  await emu.close();
});

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
    await vi.waitFor(() => expect(emu.usageTotal('spooler', 'api-access', 'api_calls')).toBe(7), { timeout: 10_000, interval: 10 });
    proc.kill('SIGKILL');
    await once(proc, 'exit');
    emu.clearFaults();
    const pendingLines = readFileSync(spool, 'utf8')
      .split('\n')
      .filter((l) => l.includes('"add"')).length;
    expect(pendingLines).toBeGreaterThanOrEqual(5);
    expect(emu.usageTotal('spooler', 'api-access', 'api_calls')).toBe(7);

    const restarted = gateFor(emu, { usage: { spoolPath: spool } });
    await restarted.flush();
    expect(emu.usageTotal('spooler', 'api-access', 'api_calls')).toBe(10);
    const keys = emu.usageEvents.filter((e) => e.accountRefId === 'spooler').map((e) => e.eventKey);
    expect(new Set(keys).size).toBe(10);
    expect(keys).toHaveLength(10);
    await restarted.close();
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
    const restarted = gateFor(emu, { usage: { spoolPath: spool } });
    await restarted.flush();
    await restarted.close();
    expect(emu.usageTotal('summed', 'api-access', 'api_calls')).toBe(7);
  }, 30_000);
});
