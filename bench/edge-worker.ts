// The Worker that bench/edge.ts times inside workerd: N warm calls per request of fetchGate's
// requireTier around a handler, or of a hand-written guard doing one LRUCache.get, or of nothing
// (the loop and the request alone). workerd freezes the clock while code runs, so the bench times
// each request from outside and subtracts the empty loop.
import { createGate, type Gate } from 'ecom9-gate';
import { fetchGate } from 'ecom9-gate/fetch';
import { LRUCache } from 'lru-cache';

interface Env {
  ECOM9_API_KEY: string;
  ECOM9_BASE_URL: string;
}

type Handler = (req: Request) => Response | Promise<Response>;
let sides: Record<string, Handler> | undefined;
let gate: Gate | undefined;

function build(env: Env) {
  gate = createGate({ apiKey: env.ECOM9_API_KEY, baseUrl: env.ECOM9_BASE_URL, cache: { ttlMs: 3_600_000 }, logger: { warn() {} } });
  const ok = new Response('ok');
  const denied = new Response(null, { status: 403 });
  const handler = (_req: Request) => ok;
  const lru = new LRUCache<string, object>({ max: 10_000, ttl: 3_600_000 });
  lru.set('acme', { allowed: true });
  const f = fetchGate(gate, { accountRefId: (req) => req.headers.get('x-account') });
  return {
    gate: f.requireTier('pro')(handler),
    hand: (req: Request) => (lru.get(req.headers.get('x-account') as string) ? handler(req) : denied),
    empty: handler,
  } satisfies Record<string, Handler>;
}

export default {
  async fetch(req: Request, env: Env): Promise<Response> {
    sides ??= build(env);
    const url = new URL(req.url);
    const side = sides[url.searchParams.get('side') ?? ''];
    if (!side) return new Response('side?', { status: 400 });
    // Warm-up: the first call asks ecom9 (the emulator); the timed ones are answered by the cache.
    const first = await side(new Request('http://x/reports', { headers: { 'x-account': 'acme' } }));
    if (first.status !== 200) return new Response(`warm-up answered ${first.status}`, { status: 500 });
    const n = Number(url.searchParams.get('n') ?? 100_000);
    // A shared Headers and a fresh request object per call, as bench/web-core.ts does on Node.
    const headers = new Headers({ 'x-account': 'acme' });
    let sink: unknown;
    for (let i = 0; i < n; i++) sink = side({ url: 'http://x/reports', method: 'GET', headers } as Request);
    return new Response(String(sink !== undefined));
  },
};
