// The warm check inside workerd (Miniflare), per call: fetchGate's requireTier around a handler against
// a hand-written guard doing one LRUCache.get (bench/edge-worker.ts), no compatibility flag. workerd's
// clock stands still while code runs, so each side's N calls are timed as one request from here, the
// empty loop's request subtracted; sides interleaved, the median of the rounds kept.
//   npm run build && npx tsx bench/edge.ts [--quick]
import { fileURLToPath } from 'node:url';
import { createEmulator } from '../src/emulator/index';
import { bundleWorker, serveWorker } from '../test/support/workerd';
import { median, quick } from './lib';

const N = quick ? 200_000 : 1_000_000;
const ROUNDS = quick ? 5 : 11;

const emu = createEmulator();
await emu.listen(0, '127.0.0.1');
emu.setAccount('acme', { customerEmail: 'a@example.com', subscriptions: [{ subscription: 'studio-suite', tier: 'pro' }] });
const script = await bundleWorker(fileURLToPath(new URL('./edge-worker.ts', import.meta.url)));
const worker = await serveWorker(script, [], { ECOM9_API_KEY: emu.apiKey, ECOM9_BASE_URL: emu.url });

async function timed(side: string, n: number): Promise<number> {
  const t0 = performance.now();
  const res = await fetch(`${worker.url}/?side=${side}&n=${n}`);
  const body = await res.text();
  if (!res.ok) throw new Error(`${side}: ${res.status} ${body}`);
  return (performance.now() - t0) * 1e6;
}

try {
  for (const side of ['empty', 'hand', 'gate']) await timed(side, N / 10);
  const gateNs: number[] = [];
  const handNs: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const empty = await timed('empty', N);
    const hand = (await timed('hand', N)) - empty;
    const gate = (await timed('gate', N)) - empty;
    handNs.push(hand / N);
    gateNs.push(gate / N);
  }
  const ratio = median(gateNs.map((g, i) => g / (handNs[i] as number)));
  console.log(
    `workerd (no flags), warm requireTier per call: ${median(gateNs).toFixed(1)} ns; hand-written LRU guard ${median(handNs).toFixed(1)} ns; ratio ${ratio.toFixed(2)} (${ROUNDS} rounds of ${N})`,
  );
  console.log(`upstream calls: ${emu.callCount('accounts.status', 'acme')} (the warm-up's only)`);
} finally {
  await worker.close();
  await emu.close();
}
