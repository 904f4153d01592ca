// The core on a warm cache against the floor it is built on: a bare LRUCache.get of the same key.
import { LRUCache } from 'lru-cache';
import { createGate } from '../src/index';
import { median, quick, timeAwaited, timeLoop } from './lib';

const N = quick ? 200_000 : 1_000_000;

const time = (fn: () => void): number => timeLoop(N, fn);
const timeAsync = (fn: () => Promise<unknown>): Promise<number> => timeAwaited(N, fn);

export async function coreBench(emu: { url: string; apiKey: string }) {
  const gate = createGate({ apiKey: emu.apiKey, baseUrl: emu.url, cache: { ttlMs: 3_600_000 }, logger: { warn: () => {} } });
  const opts = { tiers: 'pro' };
  await gate.checkTier('acme', opts);
  const prepared = gate.tierCheck(opts);
  const lru = new LRUCache<string, object>({ max: 10_000, ttl: 3_600_000 });
  const key = 'acme\u0000s\u0000';
  lru.set(key, { allowed: true });
  let sink: unknown;
  const lruNs: number[] = [];
  const checkNs: number[] = [];
  const peekNs: number[] = [];
  const awaitNs: number[] = [];
  const settled = Promise.resolve({ allowed: true });
  for (let round = 0; round < 5; round++) {
    lruNs.push(
      time(() => {
        for (let i = 0; i < N; i++) sink = lru.get(key);
      }),
    );
    checkNs.push(await timeAsync(() => gate.checkTier('acme', opts)));
    // The floor of any promise-returning API: awaiting a value that is already there.
    awaitNs.push(await timeAsync(() => settled));
    peekNs.push(
      time(() => {
        for (let i = 0; i < N; i++) sink = prepared.peek('acme');
      }),
    );
  }
  void sink;
  await gate.close();
  const lruMed = median(lruNs);
  return {
    lruNs: lruMed,
    checkTierNs: median(checkNs),
    peekNs: median(peekNs),
    awaitFloorNs: median(awaitNs),
    checkTierRatio: median(checkNs) / lruMed,
    peekRatio: median(peekNs) / lruMed,
    // checkTier minus the cost of the await itself, against the LRU.
    checkTierBeyondAwaitRatio: (median(checkNs) - median(awaitNs)) / lruMed,
  };
}
