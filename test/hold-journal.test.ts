// Holds survive a crash: with usage.spoolPath, what a hold used is journaled, and a process killed
// mid-work charges it on its next start, once (the same event_key), however the first process died.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Emulator } from 'ecom9-gate/emulator';
import { startEmulator } from './support/env';

const here = dirname(fileURLToPath(import.meta.url));
let emu: Emulator;
let start = 0;
const debits = () => emu.ledger.slice(start).filter((r) => r.accountRefId === 'crasher');

beforeAll(async () => {
  emu = await startEmulator();
});
afterAll(async () => {
  await emu.close();
});
beforeEach(() => {
  emu.clearFaults();
  emu.setAccount('crasher', { customerEmail: 'c@example.com' });
  emu.setCredits('crasher', 'ai-images', 'credits', 100);
  start = emu.ledger.length;
});

function child(spool: string) {
  const proc = spawn(process.execPath, ['--import', 'tsx', join(here, 'fixtures/hold-child.ts')], {
    env: { ...process.env, EMU_URL: emu.url, EMU_KEY: emu.apiKey, SPOOL: spool },
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
  const kill = () => new Promise((r) => (proc.once('exit', r), proc.kill('SIGKILL')));
  return { proc, send, kill };
}

async function until(cond: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('hold journal (usage.spoolPath)', () => {
  it('a process killed after use(12) is charged 12 on its next start, once; a third start charges nothing', async () => {
    const spool = join(mkdtempSync(join(tmpdir(), 'ecom9-holds-')), 'usage.jsonl');
    const first = child(spool);
    await first.send('reserve 50');
    await first.send('use 5');
    await first.send('use 7');
    await first.kill();
    expect(debits()).toEqual([]);

    const second = child(spool);
    await second.send('close');
    expect(debits().map((r) => [r.quantity, r.approved])).toEqual([[12, true]]);
    await second.kill();

    const third = child(spool);
    await third.send('close');
    await third.kill();
    expect(debits()).toHaveLength(1);
    expect(emu.credits('crasher', 'ai-images', 'credits')).toBe(88);
  }, 60_000);

  it('a process killed while its debit was applied but unanswered is not charged again on restart', async () => {
    const spool = join(mkdtempSync(join(tmpdir(), 'ecom9-holds-')), 'usage.jsonl');
    const first = child(spool);
    await first.send('reserve 50');
    await first.send('use 9');
    // ecom9 applies the debit and the answer is lost; the retry hangs until the process dies.
    emu.inject({ endpoint: 'credits.debit', kind: 'drop', dropAfterProcessing: true, times: 1 });
    emu.inject({ endpoint: 'credits.debit', kind: 'latency', ms: 60_000, times: 1 });
    await first.send('settle');
    await until(() => debits().length === 1);
    await first.kill();
    emu.clearFaults();

    const second = child(spool);
    await second.send('close');
    await second.kill();
    expect(emu.callCount('credits.debit', 'crasher')).toBeGreaterThanOrEqual(3);
    expect(debits().map((r) => r.quantity)).toEqual([9]);
    expect(emu.credits('crasher', 'ai-images', 'credits')).toBe(91);
  }, 60_000);
});
