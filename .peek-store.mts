// ad hoc: warm peek with and without a store vs LRUCache.get (not committed)
import { LRUCache } from 'lru-cache';
import { createEmulator } from './src/emulator/index';
import { createGate } from './src/index';
import { redisStore } from './src/redis/index';
const emu = createEmulator(); await emu.listen(0, '127.0.0.1');
emu.setAccount('acme', { customerEmail: 'a@e.com', subscriptions: [{ subscription: 'studio-suite', tier: 'pro' }] });
const N = 1_000_000;
const plain = createGate({ apiKey: emu.apiKey, baseUrl: emu.url, cache: { ttlMs: 3_600_000 }, logger: { warn() {} } });
const store = redisStore({ url: 'redis://127.0.0.1:6379', prefix: `peek-${Date.now()}:` });
const stored = createGate({ apiKey: emu.apiKey, baseUrl: emu.url, cache: { ttlMs: 3_600_000 }, logger: { warn() {} }, store });
await new Promise((r) => setTimeout(r, 200));
for (const g of [plain, stored]) await g.checkTier('acme', { tiers: 'pro' });
const pp = plain.tierCheck({ tiers: 'pro' }); const ps = stored.tierCheck({ tiers: 'pro' });
const lru = new LRUCache<string, object>({ max: 10_000, ttl: 3_600_000 }); lru.set('acme\u0000s\u0000', {});
let sink: unknown;
const time = (fn: () => void) => { const t0 = process.hrtime.bigint(); fn(); return Number(process.hrtime.bigint() - t0) / N; };
const med = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const a: number[] = [], b: number[] = [], c: number[] = [];
for (let r = 0; r < 7; r++) {
  a.push(time(() => { for (let i = 0; i < N; i++) sink = lru.get('acme\u0000s\u0000'); }));
  b.push(time(() => { for (let i = 0; i < N; i++) sink = pp.peek('acme'); }));
  c.push(time(() => { for (let i = 0; i < N; i++) sink = ps.peek('acme'); }));
}
void sink;
console.log(`LRUCache.get ${med(a).toFixed(1)} ns | peek, no store ${med(b).toFixed(1)} ns (${(med(b) / med(a)).toFixed(2)}x) | peek, with redisStore ${med(c).toFixed(1)} ns (${(med(c) / med(a)).toFixed(2)}x); store hits: ${stored.stats().cacheHits > 0}`);
await plain.close(); await stored.close(); await emu.close();
