// The README's shutdown line is right: on SIGTERM the process stops taking requests, lets the one in
// flight finish, flushes the usage both recorded (the emulator shows it) and exits by itself, code 0.
// (The line it replaced, `process.on('SIGTERM', () => gate.close())`, kept the process listening.)
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Emulator } from 'ecom9-gate/emulator';
import { startEmulator } from './support/env';
import { startInstance } from './support/processes';

const README_LINE = 'closeOnSignals(gate, { servers: [server] });';

let emu: Emulator;
beforeAll(async () => {
  emu = await startEmulator();
});
afterAll(async () => {
  await emu.close();
});

describe('closeOnSignals, as the README shows it', () => {
  it('is the line the README gives', () => {
    expect(readFileSync(new URL('../README.md', import.meta.url), 'utf8')).toContain(README_LINE);
    expect(readFileSync(new URL('./fixtures/shutdown-child.ts', import.meta.url), 'utf8')).toContain(README_LINE);
  });

  it('SIGTERM: the request in flight finishes, usage is flushed to ecom9, the process exits by itself with 0', async () => {
    const ref = `shutdown-${Date.now()}`;
    const child = await startInstance({ EMU_URL: emu.url, EMU_KEY: emu.apiKey }, 'shutdown-child.ts');
    const exited = new Promise<number | null>((resolve) => child.proc.once('exit', (code) => resolve(code)));
    expect((await fetch(`${child.url}/work`, { headers: { 'x-account': ref } })).status).toBe(200);
    const slow = fetch(`${child.url}/slow`, { headers: { 'x-account': ref } });
    await child.waitFor((l) => l.slow === 'started', 10_000, true);
    expect(await emu.usageTotal(ref, 'api-access', 'api_calls')).toBe(0);
    child.proc.kill('SIGTERM');
    const answer = await slow;
    expect(answer.status).toBe(200);
    expect(await answer.json()).toEqual({ ok: true, finishedAfterSigterm: true });
    expect(await exited).toBe(0);
    expect(await emu.usageTotal(ref, 'api-access', 'api_calls')).toBe(2);
  });
});
