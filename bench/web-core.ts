// The web adapters on a warm cache, per call, against a hand-written guard that does one
// LRUCache.get: fetch (a wrapped handler) and Hono (a middleware called with a Context and next).
// Both sides run on the same inputs, interleaved, and the median of the rounds is kept.
// A fresh request object per call (a shared Headers, so building a real Request, ~1 µs, does not
// drown both sides): the adapter's WeakMap write is for a new request each time, as in a server.
import { Context, type MiddlewareHandler } from 'hono';
import { LRUCache } from 'lru-cache';
import { fetchGate } from '../adapters/fetch';
import { honoGate } from '../adapters/hono';
import { createGate } from '../src/index';
import { median, quick, timeAwaited, timeLoop } from './lib';

const N = quick ? 100_000 : 500_000;
const ROUNDS = quick ? 5 : 11;
const time = (fn: () => void): number => timeLoop(N, fn);
const timeAsync = (fn: () => Promise<unknown>): Promise<number> => timeAwaited(N, fn);

export async function webCoreBench(emu: { url: string; apiKey: string }) {
  const gate = createGate({ apiKey: emu.apiKey, baseUrl: emu.url, cache: { ttlMs: 3_600_000 }, logger: { warn: () => {} } });
  const headers = new Headers({ 'x-account': 'acme' });
  const url = 'http://127.0.0.1/reports';
  const fresh = () => ({ url, method: 'GET', headers }) as Request;
  const lru = new LRUCache<string, object>({ max: 10_000, ttl: 3_600_000 });
  lru.set('acme', { allowed: true });
  const ok = new Response('ok');
  const denied = new Response(null, { status: 403 });
  const handler = (_req: Request) => ok;

  // fetch: the same handler behind fetchGate's requireTier, and behind one LRUCache.get.
  const f = fetchGate(gate, { accountRefId: (req) => req.headers.get('x-account') });
  const gated = f.requireTier('pro')(handler);
  const byHand = (req: Request) => (lru.get(req.headers.get('x-account') as string) ? handler(req) : denied);
  const warm = await gated(new Request(url, { headers }));
  if (warm.status !== 200) throw new Error(`fetch warm-up answered ${warm.status}`);

  // Hono: middleware called directly, with a fresh Context per call and a next() that is already done.
  const h = honoGate(gate, { accountRefId: (c) => c.req.header('x-account') });
  const tier = h.requireTier('pro');
  const honoByHand: MiddlewareHandler = async (c, next) => {
    if (!lru.get(c.req.header('x-account') as string)) return c.body(null, 403);
    await next();
  };
  const done = Promise.resolve();
  const next = () => done;

  let sink: unknown;
  const fetchNs: number[] = [];
  const fetchHandNs: number[] = [];
  const honoNs: number[] = [];
  const honoHandNs: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    fetchHandNs.push(
      time(() => {
        for (let i = 0; i < N; i++) sink = byHand(fresh());
      }),
    );
    fetchNs.push(
      time(() => {
        for (let i = 0; i < N; i++) sink = gated(fresh());
      }),
    );
    honoHandNs.push(await timeAsync(() => honoByHand(new Context(fresh()), next)));
    honoNs.push(await timeAsync(() => tier(new Context(fresh()), next)));
  }
  void sink;
  await gate.close();
  const ratios = (a: number[], b: number[]) => median(a.map((x, i) => x / (b[i] as number)));
  return {
    fetchNs: median(fetchNs),
    fetchByHandNs: median(fetchHandNs),
    fetchRatio: ratios(fetchNs, fetchHandNs),
    honoNs: median(honoNs),
    honoByHandNs: median(honoHandNs),
    honoRatio: ratios(honoNs, honoHandNs),
  };
}
