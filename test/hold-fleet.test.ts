// Holds across a fleet: instances sharing one Redis (redisStore) count each other's open holds, so a
// balance B grants at most ⌊B/q⌋ holds of q whichever instance is asked; Redis down fails closed.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Emulator } from 'ecom9-gate/emulator';
import { redisStore } from 'ecom9-gate/redis';
import { startInstance, type Instance } from './support/processes';
import { ensureRedis } from './support/redis';
import { startEmulator } from './support/env';
import { gateEnv } from './support/gate-env';

let emu: Emulator;
let shared: string;
const post = async (url: string) => (await fetch(url, { method: 'POST' })).json() as Promise<Record<string, unknown>>;

beforeAll(async () => {
  shared = await ensureRedis();
  emu = await startEmulator();
});
afterAll(async () => {
  await emu.close();
});

describe('holds with a redisStore', () => {
  it('2 processes, balance 100, 8 concurrent holds of 30: 3 granted, and settling frees what was not used', async () => {
    const ref = `fleet-${randomUUID()}`;
    emu.setAccount(ref, { customerEmail: 'f@example.com' });
    emu.setCredits(ref, 'ai-images', 'credits', 100);
    const env = { REDIS_URL: shared, EMU_URL: emu.url, EMU_KEY: emu.apiKey, PREFIX: `h-${randomUUID()}:` };
    const procs: Instance[] = await Promise.all([1, 2].map(() => startInstance(env, 'hold-fleet-child.ts')));
    try {
      const answers = await Promise.all(Array.from({ length: 8 }, (_, i) => post(`${procs[i % 2]?.url}/reserve/${ref}/30`)));
      const granted = answers.filter((a) => a.granted);
      expect(granted).toHaveLength(3);
      expect(answers.filter((a) => !a.granted).every((a) => a.code === 'insufficient_credits')).toBe(true);
      // Settled for 10 on whichever instance made it: 90 left, 60 held, so one more hold of 30 fits, on the other instance too.
      const first = granted[0] as { key: string };
      const owner = procs[answers.indexOf(first) % 2] as Instance;
      expect(await post(`${owner.url}/settle/${first.key}/10`)).toMatchObject({ debited: 10, remainingBalance: 90 });
      const other = procs.find((p) => p !== owner) as Instance;
      expect(await post(`${other.url}/reserve/${ref}/30`)).toMatchObject({ granted: true });
      expect(await post(`${owner.url}/reserve/${ref}/30`)).toMatchObject({ granted: false });
      expect(emu.ledger.filter((r) => r.accountRefId === ref).map((r) => r.quantity)).toEqual([10]);
    } finally {
      await Promise.all(procs.map((p) => p.stop()));
    }
  }, 60_000);

  it('Redis unreachable: a hold is refused with 503 (failMode closed), or counted in this process (open), never charged twice', async () => {
    const ref = `down-${randomUUID()}`;
    emu.setAccount(ref, { customerEmail: 'd@example.com' });
    emu.setCredits(ref, 'ai-images', 'credits', 100);
    const store = redisStore({ url: 'redis://127.0.0.1:1', prefix: `d-${randomUUID()}:` });
    await using env = await gateEnv({ emu, gate: { store } });
    const { gate, reported } = env;
    const closed = await gate.reserveCredits(ref, { product: 'ai-images', meter: 'credits', quantity: 30 });
    expect(closed.hold).toBeUndefined();
    expect(closed.decision).toMatchObject({ code: 'upstream_unavailable', status: 503, retryAfterSeconds: 1 });
    const open = await gate.reserveCredits(ref, { product: 'ai-images', meter: 'credits', quantity: 30, failMode: 'open' });
    open.hold?.use(4);
    expect(await open.hold?.settle()).toMatchObject({ debited: 4 });
    expect(await open.hold?.settle()).toMatchObject({ debited: 4 });
    expect(emu.ledger.filter((r) => r.accountRefId === ref).map((r) => r.quantity)).toEqual([4]);
    expect(reported.filter((e) => (e as { code?: string }).code === 'hold_ledger_unavailable')).toHaveLength(1);
  }, 30_000);
});
