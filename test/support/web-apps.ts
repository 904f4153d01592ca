// The scenario app of test/support/apps.ts written for ecom9-gate/fetch and ecom9-gate/hono, as plain
// `(req: Request) => Promise<Response>` functions. Runtime-neutral on purpose (no node: import, no
// server): Node serves them with @hono/node-server (apps.ts), Bun with Bun.serve, Deno with Deno.serve.
// The account comes from `x-account` ('throw', 'reject', 'number' as in apps.ts; `x-async` makes the
// resolver async). The app's own error path answers 500 `{ error, handledBy: 'app' }`.
import type { Decision, Gate, Hold, WebhookHandler } from 'ecom9-gate';
import { fetchGate, type FetchDeniedHandler } from 'ecom9-gate/fetch';
import { honoGate } from 'ecom9-gate/hono';
import { Hono, type Context } from 'hono';

export const WEB_FRAMEWORKS = ['fetch', 'hono'] as const;
export type WebFramework = (typeof WEB_FRAMEWORKS)[number];

export interface Deferred<T = void> {
  promise: Promise<T>;
  resolve(value: T): void;
}

export function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/** A request held in its handler: `reached` when it got there, answered on `release`, `closed` once its response closed. */
export interface Held {
  reached: Deferred;
  release: Deferred;
  closed: Deferred;
}

export function holder() {
  let current: Held = { reached: deferred(), release: deferred(), closed: deferred() };
  return {
    get current() {
      return current;
    },
    hold(): Held {
      current = { reached: deferred(), release: deferred(), closed: deferred() };
      return current;
    },
  };
}

/**
 * A web app: the fetch function, and `hold()` to arm the next request to /metered-held or
 * /metered-stream. What the server passes after the Request (@hono/node-server's `{ incoming,
 * outgoing }`, a Worker's env and ctx) reaches the guards, as in a user's app.
 */
export type WebApp = ((req: Request, ...rest: unknown[]) => Promise<Response>) & { hold(): Held };

export interface WebAppOptions {
  /** Passed to webhookHandler({ handlers }). */
  handlers?: Record<string, WebhookHandler>;
}

export function resolveFrom(headers: Headers): unknown {
  const acc = headers.get('x-account') ?? undefined;
  if (acc === 'throw') throw new Error('resolver exploded');
  if (acc === 'reject') return Promise.reject(new Error('resolver rejected'));
  if (acc === 'number') return 42;
  if (headers.get('x-async')) return Promise.resolve(acc);
  return acc;
}

/** How many times a paid route's handler ran (the idempotency table resets it). */
export const paidRuns = { count: 0 };

/** A paid route's answer: a fresh run id (so a replay is told from a second run), its size and the body's prompt. */
export async function paidAnswer(size: string, prompt: unknown): Promise<{ run: string; size: string; prompt: unknown }> {
  paidRuns.count++;
  // Long enough for concurrent reuses of its key to arrive while it runs.
  await new Promise((r) => setTimeout(r, 30));
  return { run: crypto.randomUUID(), size, prompt };
}

const promptOf = async (req: Request): Promise<unknown> => ((await req.json().catch(() => ({}))) as { prompt?: unknown }).prompt;

export const teapot = (d: Decision) => ({ custom: true, code: d.code });
const adapterLevel = (d: Decision) => ({ adapterLevel: true, code: d.code });

function boom(headers: Headers): Promise<never> {
  if (headers.get('x-boom') === 'reject') return Promise.reject(new Error('onDenied rejected'));
  throw new Error('onDenied threw');
}

/** Every error that reached an app's own error handler (every test app records here). */
export const appErrors: unknown[] = [];

const appError = (err: unknown) => {
  appErrors.push(err);
  return Response.json({ error: (err as Error).message, handledBy: 'app' }, { status: 500 });
};

export const charge = { product: 'ai-images', meter: 'credits', quantity: 5, topUpUrl: 'https://billing.example.com/top-up' };
export const video = { product: 'ai-video', meter: 'credits', quantity: 7 };
export const meter = { product: 'api-access', meter: 'api_calls' };
export const tokens = { product: 'api-access', meter: 'tokens', quantity: 100 };
export const answer = { product: 'ai-images', meter: 'credits', quantity: 10, topUpUrl: 'https://billing.example.com/top-up' };

/**
 * The /answer route's work on its hold: uses `x-used` credits (none when absent) and, with
 * `x-settle`, settles the hold itself before answering (the adapter settles it again after).
 */
export async function work(hold: Hold | undefined, used: string | null | undefined, settle: unknown): Promise<{ reserved?: number; used?: number }> {
  const n = Number(used ?? 0);
  if (n > 0) hold?.use(n);
  if (settle) await hold?.settle();
  return { reserved: hold?.reserved, used: hold?.used };
}

/** The held route's answer: `closed` when the request's signal fires (aborted) or the handler is done. */
async function heldAnswer(h: Held, signal: AbortSignal): Promise<Response> {
  signal.addEventListener('abort', () => h.closed.resolve());
  h.reached.resolve();
  await h.release.promise;
  h.closed.resolve();
  return Response.json({ ok: true });
}

/** A streamed body: one chunk now, the rest once released (`closed` when the stream ends or is cancelled). */
function streamed(h: Held): Response {
  const enc = new TextEncoder();
  let step = 0;
  const body = new ReadableStream<Uint8Array>({
    async pull(ctl) {
      if (step++ === 0) return ctl.enqueue(enc.encode('first;'));
      h.reached.resolve();
      await h.release.promise;
      ctl.enqueue(enc.encode('last'));
      ctl.close();
      h.closed.resolve();
    },
    cancel() {
      h.closed.resolve();
    },
  });
  return new Response(body, { headers: { 'content-type': 'text/plain' } });
}

type H = (req: Request, ...rest: unknown[]) => Response | Promise<Response>;

export function fetchApp(gate: Gate, opts: WebAppOptions = {}): WebApp {
  const held = holder();
  const f = fetchGate(gate, { accountRefId: (req) => resolveFrom(req.headers) });
  const ok =
    (body: unknown = { ok: true }): H =>
    () =>
      Response.json(body);
  const webhook = f.webhookHandler(opts.handlers ? { handlers: opts.handlers } : {});
  const routes: Record<string, H> = {
    'POST /webhooks/ecom9': webhook,
    'GET /webhooks/ecom9': webhook,
    'GET /tier': f.requireTier('pro')((req) => Response.json({ ok: true, ecom9: f.state(req) })),
    'GET /tier-sub': f.requireTier(['pro', 'enterprise'], { subscription: 'studio-suite' })(ok()),
    'GET /links': f.requireTier('enterprise', { upgradeLink: true, paymentLink: true })(ok()),
    'GET /pay': f.requireTier('pro', { paymentLink: true })(ok()),
    'GET /ent': f.requireEntitlement('pro-api', 'api_access')(ok()),
    'GET /custom': f.requireTier('enterprise', { onDenied: (_q, d) => Response.json(teapot(d), { status: 418 }) })(ok()),
    'GET /soft': f.requireTier('enterprise', { onDenied: (_q, _d, next) => next() })((req) => Response.json({ code: f.state(req)?.decision?.code })),
    'GET /boom-tier': f.requireTier('enterprise', { onDenied: (req) => boom(req.headers) })(ok()),
    'POST /boom-charge': f.chargeCredits({ ...charge, quantity: 50, onDenied: (req) => boom(req.headers) })(ok()),
    'POST /images': f.chargeCredits(charge)((req) => Response.json({ ok: true, credits: f.state(req)?.credits })),
    'POST /answer': f.reserveCredits(answer)(async (req) =>
      Response.json(await work(f.state(req)?.hold, req.headers.get('x-used'), req.headers.get('x-settle'))),
    ),
    'POST /images-again': f.chargeCredits(charge)((req) => Response.json({ ok: true, credits: f.state(req)?.credits })),
    'POST /gen': f.chargeCredits(charge)(f.chargeCredits(video)((req) => Response.json({ credits: f.state(req)?.credits }))),
    'GET /metered': f.meterUsage(meter)(ok()),
    'GET /metered-two': f.meterUsage(meter)(f.meterUsage(tokens)(ok())),
    'GET /metered-bad': f.meterUsage({ ...meter, quantity: () => Number.NaN })(ok()),
    'GET /metered-fail': f.meterUsage(meter)(() => Response.json({ ok: false }, { status: 500 })),
    'GET /metered-weighted': f.meterUsage({ ...meter, quantity: (_q, res) => Number(res.headers.get('x-units')) })(() =>
      Response.json({ ok: true }, { headers: { 'x-units': '7' } }),
    ),
    'GET /metered-held': f.meterUsage(meter)((req) => heldAnswer(held.current, req.signal)),
    'GET /metered-stream': f.meterUsage(meter)(() => streamed(held.current)),
    // Something read the body first: the webhook handler must refuse to verify it.
    'POST /webhooks-after-parser': async (req) => {
      await req.json();
      return webhook(req);
    },
  };
  const images = f.chargeCredits({ ...charge, quantity: (req) => Number(new URL(req.url).pathname.split('/')[2]) })((req) =>
    Response.json({ credits: f.state(req)?.credits }),
  );
  const paid = f.chargeCredits(charge)(async (req) => Response.json(await paidAnswer(new URL(req.url).pathname.split('/')[2] ?? '', await promptOf(req))));
  const meterAny = f.meterUsage(meter)(ok());
  const app = async (req: Request, ...rest: unknown[]): Promise<Response> => {
    try {
      if (req.headers.get('x-app-fail')) throw new Error('app hook failed');
      const path = new URL(req.url).pathname;
      const route =
        routes[`${req.method} ${path}`] ??
        (req.method === 'POST' && /^\/images\/[^/]+$/.test(path) ? images : undefined) ??
        (req.method === 'POST' && /^\/paid\/[^/]+$/.test(path) ? paid : undefined) ??
        (req.method === 'GET' && /^\/meter-any\/[^/]+$/.test(path) ? meterAny : undefined);
      // The webhook answers 405 to every other method itself.
      if (!route) return path === '/webhooks/ecom9' ? await webhook(req) : new Response('not found', { status: 404 });
      return await route(req, ...rest);
    } catch (err) {
      return appError(err);
    }
  };
  return Object.assign(app, { hold: held.hold });
}

export function honoApp(gate: Gate, opts: WebAppOptions = {}): WebApp {
  const held = holder();
  const h = honoGate(gate, { accountRefId: (c) => resolveFrom(c.req.raw.headers) });
  const app = new Hono();
  const ok = (c: Context) => c.json({ ok: true });
  app.onError((err, c) => {
    appErrors.push(err);
    return c.json({ error: err.message, handledBy: 'app' }, 500);
  });
  app.use(async (c, next) => {
    if (c.req.header('x-app-fail')) throw new Error('app hook failed');
    await next();
  });
  app.all('/webhooks/ecom9', h.webhookHandler(opts.handlers ? { handlers: opts.handlers } : {}));
  app.get('/tier', h.requireTier('pro'), (c) => c.json({ ok: true, ecom9: c.get('ecom9') }));
  app.get('/tier-sub', h.requireTier(['pro', 'enterprise'], { subscription: 'studio-suite' }), ok);
  app.get('/links', h.requireTier('enterprise', { upgradeLink: true, paymentLink: true }), ok);
  app.get('/pay', h.requireTier('pro', { paymentLink: true }), ok);
  app.get('/ent', h.requireEntitlement('pro-api', 'api_access'), ok);
  app.get('/custom', h.requireTier('enterprise', { onDenied: (c, d) => c.json(teapot(d), 418) }), ok);
  app.get('/soft', h.requireTier('enterprise', { onDenied: (_c, _d, next) => next() }), (c) => c.json({ code: c.get('ecom9').decision?.code }));
  app.get('/boom-tier', h.requireTier('enterprise', { onDenied: (c) => boom(c.req.raw.headers) }), ok);
  app.post('/boom-charge', h.chargeCredits({ ...charge, quantity: 50, onDenied: (c) => boom(c.req.raw.headers) }), ok);
  app.post('/images', h.chargeCredits(charge), (c) => c.json({ ok: true, credits: c.get('ecom9').credits }));
  app.post('/answer', h.reserveCredits(answer), async (c) => c.json(await work(c.get('ecom9').hold, c.req.header('x-used'), c.req.header('x-settle'))));
  app.post('/images-again', h.chargeCredits(charge), (c) => c.json({ ok: true, credits: c.get('ecom9').credits }));
  app.post('/gen', h.chargeCredits(charge), h.chargeCredits(video), (c) => c.json({ credits: c.get('ecom9').credits }));
  app.post('/images/:n', h.chargeCredits({ ...charge, quantity: (c) => Number(c.req.param('n')) }), (c) => c.json({ credits: c.get('ecom9').credits }));
  app.get('/metered', h.meterUsage(meter), ok);
  app.post('/paid/:size', h.chargeCredits(charge), async (c) => c.json(await paidAnswer(c.req.param('size'), await promptOf(c.req.raw))));
  app.get('/meter-any/:x', h.meterUsage(meter), ok);
  app.get('/metered-two', h.meterUsage(meter), h.meterUsage(tokens), ok);
  app.get('/metered-bad', h.meterUsage({ ...meter, quantity: () => Number.NaN }), ok);
  app.get('/metered-fail', h.meterUsage(meter), (c) => c.json({ ok: false }, 500));
  app.get('/metered-weighted', h.meterUsage({ ...meter, quantity: (c) => Number(c.res.headers.get('x-units')) }), (c) => {
    c.header('x-units', '7');
    return c.json({ ok: true });
  });
  app.get('/metered-held', h.meterUsage(meter), (c) => heldAnswer(held.current, c.req.raw.signal));
  app.get('/metered-stream', h.meterUsage(meter), () => streamed(held.current));
  // A JSON parser before a second webhook mount: that mount must refuse to verify the parsed body.
  app.post(
    '/webhooks-after-parser',
    async (c, next) => {
      await c.req.json();
      await next();
    },
    h.webhookHandler(),
  );
  return Object.assign(async (req: Request, env?: unknown) => app.fetch(req, env), { hold: held.hold });
}

/** An app whose adapter has its own onDenied (answering 451), with a route that overrides it, and resolverError 'throw'. */
export function fetchDeniedApp(gate: Gate): WebApp {
  const held = holder();
  const onDenied: FetchDeniedHandler = (_q, d) => Response.json(adapterLevel(d), { status: 451 });
  const f = fetchGate(gate, { accountRefId: (req) => resolveFrom(req.headers), resolverError: 'throw', onDenied });
  const ran = () => Response.json({ ran: true });
  const routes: Record<string, H> = {
    'GET /tier': f.requireTier('enterprise')(ran),
    'POST /charge': f.chargeCredits({ ...charge, quantity: 50 })(ran),
    'GET /override': f.requireTier('enterprise', { onDenied: (_q, d) => Response.json(teapot(d), { status: 418 }) })(ran),
  };
  const app = async (req: Request) => (await routes[`${req.method} ${new URL(req.url).pathname}`]?.(req)) ?? new Response('not found', { status: 404 });
  return Object.assign(app, { hold: held.hold });
}

export function honoDeniedApp(gate: Gate): WebApp {
  const held = holder();
  const h = honoGate(gate, { accountRefId: (c) => resolveFrom(c.req.raw.headers), resolverError: 'throw', onDenied: (c, d) => c.json(adapterLevel(d), 451) });
  const app = new Hono();
  const ran = (c: Context) => c.json({ ran: true });
  app.get('/tier', h.requireTier('enterprise'), ran);
  app.post('/charge', h.chargeCredits({ ...charge, quantity: 50 }), ran);
  app.get('/override', h.requireTier('enterprise', { onDenied: (c, d) => c.json(teapot(d), 418) }), ran);
  return Object.assign(async (req: Request, env?: unknown) => app.fetch(req, env), { hold: held.hold });
}

export function webApp(fw: WebFramework, gate: Gate, opts: WebAppOptions = {}): WebApp {
  return fw === 'fetch' ? fetchApp(gate, opts) : honoApp(gate, opts);
}

export function webDeniedApp(fw: WebFramework, gate: Gate): WebApp {
  return fw === 'fetch' ? fetchDeniedApp(gate) : honoDeniedApp(gate);
}
