// The warm path of a request without an Idempotency-Key, per call, against other trees of the
// package (today's main, the adapter shape this branch started from), interleaved round by round,
// medians: Express requireTier on a warm cache and meterUsage (no spool), each call with its own
// request and response objects, as a server makes them. Prints one line per middleware.
// Run: node --expose-gc --import tsx bench/warm-call.ts <other tree>... (each a checkout with node_modules)
import { EventEmitter } from 'node:events';
import { resolve } from 'node:path';
import { createEmulator } from '../src/emulator/index';
import { median, quick, timeLoop } from './lib';

const N = quick ? 50_000 : 200_000;
const ROUNDS = quick ? 5 : 9;
const trees = [
  { name: 'this branch', root: resolve(import.meta.dirname, '..') },
  ...process.argv
    .slice(2)
    .filter((a) => !a.startsWith('--'))
    .map((root) => ({ name: root, root: resolve(root) })),
];

const emu = createEmulator();
await emu.listen(0, '127.0.0.1');
emu.setAccount('acme', { customerEmail: 'a@example.com', subscriptions: [{ subscription: 'studio-suite', tier: 'pro' }] });

type Mw = (req: unknown, res: unknown, next: () => void) => void;
const subjects = await Promise.all(
  trees.map(async (t) => {
    const { createGate } = (await import(`${t.root}/src/index.ts`)) as typeof import('../src/index');
    const { expressGate } = (await import(`${t.root}/adapters/express.ts`)) as typeof import('../adapters/express');
    const gate = createGate({ apiKey: emu.apiKey, baseUrl: emu.url, cache: { ttlMs: 3_600_000 }, logger: { warn: () => {} } });
    const e = expressGate(gate, { accountRefId: (req) => req.get('x-account') });
    await gate.checkTier('acme', { tiers: 'pro' });
    return { ...t, gate, tier: e.requireTier('pro') as unknown as Mw, meter: e.meterUsage({ product: 'api-access', meter: 'api_calls' }) as unknown as Mw };
  }),
);

const headers: Record<string, string> = { 'x-account': 'acme' };
const request = () => ({
  method: 'GET',
  baseUrl: '',
  path: '/x',
  originalUrl: '/x',
  url: '/x',
  route: { path: '/x' },
  headers,
  get: (n: string) => headers[n],
});
class Res extends EventEmitter {
  statusCode = 200;
  writableFinished = false;
  end() {
    this.writableFinished = true;
    this.emit('close');
  }
}
let passed = 0;
const next = () => void passed++;
const perCall = (mw: Mw, finish: boolean) =>
  timeLoop(N, () => {
    for (let i = 0; i < N; i++) {
      const res = new Res();
      mw(request(), res, next);
      if (finish) res.end();
    }
  });

for (const [label, pick, finish] of [
  ['requireTier (warm)', (s: (typeof subjects)[number]) => s.tier, false],
  ['meterUsage (no key, no spool)', (s: (typeof subjects)[number]) => s.meter, true],
] as const) {
  const ns = subjects.map(() => [] as number[]);
  for (let r = 0; r < ROUNDS; r++) {
    // The order flips each round, so no tree always runs first (or last) in a round.
    const order = r % 2 ? [...subjects.keys()].reverse() : [...subjects.keys()];
    for (const i of order) (ns[i] as number[]).push(perCall(pick(subjects[i] as (typeof subjects)[number]), finish));
  }
  const base = median(ns[0] as number[]);
  const parts = subjects.map(
    (s, i) => `${s.name} ${median(ns[i] as number[]).toFixed(0)} ns${i ? ` (this branch / it: ${(base / median(ns[i] as number[])).toFixed(2)})` : ''}`,
  );
  console.log(`${label}: ${parts.join('; ')}`);
}
if (passed === 0) throw new Error('no call went through');
for (const s of subjects) await s.gate.close();
await emu.close();
