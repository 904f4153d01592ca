// Bytes per cached decision: heap after 100,000 distinct accounts are cached (allowed, on pro),
// minus the heap before, each after a full GC. Runs in its own process with --expose-gc; ecom9 is
// the emulator in another process, so its memory is not counted.
import { createGate } from '../src/index';

const N = Number(process.env.ACCOUNTS ?? 100_000);
const gc = (globalThis as { gc?: () => void }).gc as () => void;
const settle = async () => {
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((r) => setImmediate(r));
  }
  return process.memoryUsage().heapUsed;
};

const gate = createGate({
  apiKey: process.env.EMU_KEY as string,
  baseUrl: process.env.EMU_URL as string,
  cache: { max: N * 2, ttlMs: 3_600_000 },
  logger: { warn: () => {} },
});
const check = gate.tierCheck({ tiers: 'pro' });
await check.check('m-0'); // the first call builds the pool, the catalogue of rules, the JIT's code
const before = await settle();
for (let i = 1; i <= N; i += 500) {
  await Promise.all(Array.from({ length: Math.min(500, N + 1 - i) }, (_, j) => check.check(`m-${i + j}`)));
}
const after = await settle();
const allowed = check.peek(`m-${N}`)?.allowed;
process.stdout.write(`${JSON.stringify({ accounts: N, cacheSize: gate.stats().cacheSize, bytesPerDecision: Math.round((after - before) / N), allowed })}\n`);
await gate.close();
