// A metered response is journaled before it can reach its client: a process SIGKILLed right after a
// client got its 200 loses no usage event, and the next start counts each once.
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Emulator } from 'ecom9-gate/emulator';
import { startEmulator } from './support/env';
import { gateEnv } from './support/gate-env';

let emu: Emulator;
beforeAll(async () => {
  emu = await startEmulator();
});
afterAll(async () => {
  await emu.close();
});

async function startChild(spool: string) {
  const proc = spawn(process.execPath, ['--import', 'tsx', join(__dirname, 'fixtures/metered-child.ts')], {
    env: { ...process.env, EMU_URL: emu.url, EMU_KEY: emu.apiKey, SPOOL: spool },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const [chunk] = (await once(proc.stdout, 'data')) as [Buffer];
  return { proc, url: `http://127.0.0.1:${Number(chunk.toString().trim())}` };
}

it('a client that got its 200 from a process killed right after is metered once, after the restart', async () => {
  const account = `crash-${randomUUID()}`;
  emu.setAccount(account, { customerEmail: 'c@example.com' });
  const spool = join(mkdtempSync(join(tmpdir(), 'ecom9-metered-')), 'usage.jsonl');
  const { proc, url } = await startChild(spool);
  const exited = once(proc, 'exit');
  const ok = await Promise.all([1, 2, 3].map(() => fetch(`${url}/v1/work`, { headers: { 'x-account': account } }).then((r) => r.status)));
  const last = await fetch(`${url}/v1/work`, { headers: { 'x-account': account, 'x-die': '1' } });
  expect([...ok, last.status]).toEqual([200, 200, 200, 200]);
  expect(await last.json()).toEqual({ ok: true });
  const [, signal] = await exited;
  expect(signal).toBe('SIGKILL');
  // Nothing reached ecom9 yet (the 1 s window never closed): all four are only in the journal.
  expect(emu.usageTotal(account, 'api-access', 'api_calls')).toBe(0);
  // The next start (a gate on the journal, closed at the end of its block) sends them.
  {
    await using restarted = await gateEnv({ emu, gate: { usage: { spoolPath: spool } } });
    await restarted.gate.flush();
    expect(emu.usageTotal(account, 'api-access', 'api_calls')).toBe(4);
  }
  // A second start finds nothing left to send: none is counted twice.
  {
    await using again = await gateEnv({ emu, gate: { usage: { spoolPath: spool } } });
    await again.gate.flush();
    expect(emu.usageTotal(account, 'api-access', 'api_calls')).toBe(4);
  }
});
