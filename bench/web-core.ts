// The web adapters on a warm cache, per call, against a hand-written guard that does one
// LRUCache.get: fetch (a wrapped handler) and Hono (a middleware called with a Context and next).
// Both sides run on the same inputs, interleaved, and the median of the rounds is kept.
// A fresh request object per call (a shared Headers, so building a real Request, ~1 µs, does not
// drown both sides): the adapter's WeakMap write is for a new request each time, as in a server.
// meterUsage as served by @hono/node-server (a Node response stand-in that emits 'close'), against a
// hand-written meter doing the least one can: a 'close' listener that resolves the account and
// records one unit through the core (recordMetered, no options to check); over HTTP the difference
// is below this machine's noise, so it is measured here.
import { EventEmitter } from 'node:events';
import { Context, type MiddlewareHandler } from 'hono';
import { LRUCache } from 'lru-cache';
import { core, fetchAdapter, hono } from './code';
import { median, quick, timeAwaited, timeLoop } from './lib';

// The build, as a user's app runs it (bench/code.ts; BENCH_CODE=src for the source under tsx).
const { createGate } = core;
const { fetchGate } = fetchAdapter;
const { honoGate } = hono;

const N = quick ? 100_000 : 500_000;
const ROUNDS = quick ? 5 : 11;
const time = (fn: () => void): number => timeLoop(N, fn);
const timeAsync = (fn: () => Promise<unknown>): Promise<number> => timeAwaited(N, fn);

/** A Node response as @hono/node-server hands it on (`env.outgoing`): what the meter's hook reads of it. */
class NodeOut extends EventEmitter {
  statusCode = 200;
  writableFinished = false;
}
const closed = (out: NodeOut): void => {
  out.writableFinished = true;
  out.emit('close');
};

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
  // meterUsage: ours and by hand, each request's response closed once the route has answered.
  const meter = { product: 'api-access', meter: 'api_calls' };
  const honoMeter = h.meterUsage(meter);
  const honoMeterByHand: MiddlewareHandler = (c, next) => {
    const out = (c.env as { outgoing: NodeOut }).outgoing;
    out.on('close', () => {
      const ref = c.req.header('x-account');
      if (ref && out.statusCode < 400) gate.recordMetered(ref, meter.product, meter.meter, 1);
    });
    return next();
  };
  const honoMetered = async (mw: MiddlewareHandler) => {
    const outgoing = new NodeOut();
    await mw(new Context(fresh(), { env: { incoming: {}, outgoing } }), next);
    closed(outgoing);
  };
  const fetchMeter = f.meterUsage(meter)(handler);
  const fetchMeterByHand = (req: Request, env: { outgoing: NodeOut }) => {
    const res = handler(req);
    env.outgoing.on('close', () => {
      const ref = req.headers.get('x-account');
      if (ref && env.outgoing.statusCode < 400) gate.recordMetered(ref, meter.product, meter.meter, 1);
    });
    return res;
  };
  const fetchMetered = (fn: (req: Request, env: { incoming: object; outgoing: NodeOut }) => unknown) => {
    for (let i = 0; i < N; i++) {
      const outgoing = new NodeOut();
      sink = fn(fresh(), { incoming: {}, outgoing });
      closed(outgoing);
    }
  };

  const fetchNs: number[] = [];
  const fetchHandNs: number[] = [];
  const honoNs: number[] = [];
  const honoHandNs: number[] = [];
  const meterNs: Record<'fetch' | 'fetchByHand' | 'hono' | 'honoByHand', number[]> = { fetch: [], fetchByHand: [], hono: [], honoByHand: [] };
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
    // Which side goes first flips every round.
    const sides = [
      () => meterNs.fetchByHand.push(time(() => fetchMetered(fetchMeterByHand))),
      () => meterNs.fetch.push(time(() => fetchMetered(fetchMeter as never))),
    ];
    for (const side of round % 2 ? sides.reverse() : sides) side();
    if (round % 2) {
      meterNs.hono.push(await timeAsync(() => honoMetered(honoMeter as MiddlewareHandler)));
      meterNs.honoByHand.push(await timeAsync(() => honoMetered(honoMeterByHand)));
    } else {
      meterNs.honoByHand.push(await timeAsync(() => honoMetered(honoMeterByHand)));
      meterNs.hono.push(await timeAsync(() => honoMetered(honoMeter as MiddlewareHandler)));
    }
    // The recorder's sums go out between rounds, not into the next round's timing.
    await gate.flush();
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
    fetchMeterNs: median(meterNs.fetch),
    fetchMeterByHandNs: median(meterNs.fetchByHand),
    fetchMeterRatio: ratios(meterNs.fetch, meterNs.fetchByHand),
    honoMeterNs: median(meterNs.hono),
    honoMeterByHandNs: median(meterNs.honoByHand),
    honoMeterRatio: ratios(meterNs.hono, meterNs.honoByHand),
  };
}
