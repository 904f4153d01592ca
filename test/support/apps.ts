// The same small app in Express, Koa and Fastify (and fetch and Hono, from web-apps.ts, and Nest on
// both its platforms, from nest-app.ts), listening on loopback, so one scenario table can run against
// every adapter. The account comes from the `x-account` header ('throw' makes the resolver throw,
// 'reject' makes it reject, 'number' return a number; an `x-async` header makes it async). Every
// app's own error handler answers 500 `{ error, handledBy: 'app' }`, so a test can tell it from a
// framework's default error answer.
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import express from 'express';
import Koa from 'koa';
import Router from '@koa/router';
import Fastify from 'fastify';
import { demoFixtures, type Emulator, type Fixtures } from 'ecom9-gate/emulator';
import { expressGate } from 'ecom9-gate/express';
import { koaGate } from 'ecom9-gate/koa';
import { fastifyGate } from 'ecom9-gate/fastify';
import type { Decision, Gate, WebhookHandler } from 'ecom9-gate';
import { createAdaptorServer } from '@hono/node-server';
import { WEB_FRAMEWORKS, answer, appErrors, holder, paidAnswer, webApp, webDeniedApp, work, type Held, type WebApp, type WebFramework } from './web-apps';

export { appErrors, paidRuns } from './web-apps';

/** A Node request's body, read by the route itself (Koa without a body parser). */
async function rawText(req: AsyncIterable<Buffer>): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c);
  return Buffer.concat(chunks).toString();
}
const promptIn = (text: string): unknown => (text ? (JSON.parse(text) as { prompt?: unknown }).prompt : undefined);

export { answer, deferred, type Deferred, type Held } from './web-apps';

export const FRAMEWORKS = ['express', 'koa', 'fastify', ...WEB_FRAMEWORKS] as const;
/** Nest on its Express platform ('nest') and on its Fastify one: one adapter, two platforms its binding tells apart. */
export const NEST_FRAMEWORKS = ['nest', 'nest-fastify'] as const;
/** What the scenario and webhook tables run: FRAMEWORKS and Nest on both platforms (suites that take FRAMEWORKS run Nest on their own). */
export const SCENARIO_FRAMEWORKS = [...FRAMEWORKS, ...NEST_FRAMEWORKS] as const;
export type Framework = (typeof SCENARIO_FRAMEWORKS)[number];
type NestFramework = (typeof NEST_FRAMEWORKS)[number];

export interface RunningApp {
  url: string;
  /** Arms the next request to /metered-held (and returns its controls). */
  hold(): Held;
  close(): Promise<void>;
}

export interface AppOptions {
  /** Passed to webhookRouter({ handlers }) (Fastify: webhookHandlers). */
  handlers?: Record<string, WebhookHandler>;
}

/** The demo world plus a second credit product (ai-video) and a second meter (api-access tokens). */
export function testFixtures(): Fixtures {
  const fx = structuredClone(demoFixtures) as { products: { label_name: string; meters?: string[] }[] };
  fx.products.push({ manage_id: 'V1d3oCr3d1t0', label_name: 'ai-video', type: 'single', usage_model: 'prepaid_credits', meters: ['credits'] } as never);
  fx.products.find((p) => p.label_name === 'api-access')?.meters?.push('tokens');
  return fx as Fixtures;
}

/** The scenario table's accounts, faults cleared and calls reset: every adapter's table starts here. */
export function seedScenario(emu: Emulator): void {
  emu.clearFaults();
  emu.setAccount('pro-co', { customerEmail: 'pro@example.com', subscriptions: [{ subscription: 'studio-suite', tier: 'pro' }] });
  emu.setAccount('free-co', { customerEmail: 'free@example.com', subscriptions: [{ subscription: 'studio-suite', tier: 'starter' }] });
  emu.setAccount('late-co', { customerEmail: 'late@example.com', subscriptions: [{ subscription: 'studio-suite', tier: 'pro', state: 'past_due' }] });
  emu.setEntitlement('pro-co', 'pro-api', 'api_access', true);
  emu.setCredits('pro-co', 'ai-images', 'credits', 12);
  emu.setCredits('pro-co', 'ai-video', 'credits', 20);
  emu.setCredits('free-co', 'ai-images', 'credits', 12);
  emu.resetCalls();
}

type Headers = Record<string, string | string[] | undefined>;

export function resolveFrom(headers: Headers): unknown {
  const acc = headers['x-account'];
  if (acc === 'throw') throw new Error('resolver exploded');
  if (acc === 'reject') return Promise.reject(new Error('resolver rejected'));
  if (acc === 'number') return 42;
  if (headers['x-async']) return Promise.resolve(acc);
  return acc;
}

const teapot = (d: Decision) => ({ custom: true, code: d.code });

/** An onDenied that fails, synchronously or by rejecting (`x-boom: reject`). */
export function boom(headers: Headers): Promise<never> {
  if (headers['x-boom'] === 'reject') return Promise.reject(new Error('onDenied rejected'));
  throw new Error('onDenied threw');
}

/** An app hook in front of everything (the webhook route too) that fails on `x-app-fail`. */
export const appFails = (headers: Headers) => (headers['x-app-fail'] ? new Error('app hook failed') : undefined);

const charge = { product: 'ai-images', meter: 'credits', quantity: 5, topUpUrl: 'https://billing.example.com/top-up' };
const video = { product: 'ai-video', meter: 'credits', quantity: 7 };
const meter = { product: 'api-access', meter: 'api_calls' };
const tokens = { product: 'api-access', meter: 'tokens', quantity: 100 };

function closer(server: Server) {
  return () =>
    new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    });
}

async function listen(app: { listen(port: number, host: string): Server }): Promise<{ url: string; close: () => Promise<void> }> {
  const server = app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: closer(server) };
}

const isWeb = (fw: Framework): fw is WebFramework => (WEB_FRAMEWORKS as readonly string[]).includes(fw);
export const isNest = (fw: Framework): fw is NestFramework => (NEST_FRAMEWORKS as readonly string[]).includes(fw);
const nestPlatform = (fw: NestFramework) => (fw === 'nest' ? 'express' : 'fastify');

/** A web app (test/support/web-apps.ts) served on Node by @hono/node-server. */
async function serveWeb(app: WebApp): Promise<RunningApp> {
  const server = createAdaptorServer({ fetch: app }) as Server;
  return { ...(await listen({ listen: (port, host) => server.listen(port, host) })), hold: app.hold };
}

export async function startApp(fw: Framework, gate: Gate, opts: AppOptions = {}): Promise<RunningApp> {
  if (isWeb(fw)) return serveWeb(webApp(fw, gate, opts));
  // Loaded when asked for: Nest is heavy, and nest-app.ts imports from here.
  if (isNest(fw)) return (await import('./nest-app')).startNestApp(nestPlatform(fw), gate, opts);
  const held = holder();
  const hooks = opts.handlers ? { handlers: opts.handlers } : {};

  if (fw === 'express') {
    const app = express();
    const e = expressGate(gate, { accountRefId: (req) => resolveFrom(req.headers) });
    app.use((req, _res, next) => next(appFails(req.headers)));
    app.use('/webhooks/ecom9', e.webhookRouter(hooks));
    app.get('/tier', e.requireTier('pro'), (req, res) => void res.json({ ok: true, ecom9: req.ecom9 }));
    app.get('/tier-sub', e.requireTier(['pro', 'enterprise'], { subscription: 'studio-suite' }), (_q, res) => void res.json({ ok: true }));
    app.get('/links', e.requireTier('enterprise', { upgradeLink: true, paymentLink: true }), (_q, res) => void res.json({ ok: true }));
    app.get('/pay', e.requireTier('pro', { paymentLink: true }), (_q, res) => void res.json({ ok: true }));
    app.get('/ent', e.requireEntitlement('pro-api', 'api_access'), (_q, res) => void res.json({ ok: true }));
    app.get(
      '/custom',
      e.requireTier('enterprise', { onDenied: (_q, res, d) => void res.status(418).json(teapot(d)) }),
      (_q, res) => void res.json({ ok: true }),
    );
    app.get(
      '/soft',
      e.requireTier('enterprise', { onDenied: (_q, _r, _d, next) => next() }),
      (req, res) => void res.json({ code: e.gated(req).decision?.code }),
    );
    app.get('/boom-tier', e.requireTier('enterprise', { onDenied: (req) => boom(req.headers) }), (_q, res) => void res.json({ ok: true }));
    app.post('/boom-charge', e.chargeCredits({ ...charge, quantity: 50, onDenied: (req) => boom(req.headers) }), (_q, res) => void res.json({ ok: true }));
    app.get(
      '/next-then-throw',
      e.requireTier('enterprise', {
        onDenied: (_q, _r, _d, next) => {
          next();
          throw new Error('after next');
        },
      }),
      (_q, res) => void res.json({ ran: true }),
    );
    app.post('/images', e.chargeCredits(charge), (req, res) => void res.json({ ok: true, credits: e.gated(req).credits }));
    app.post('/answer', e.reserveCredits(answer), async (req, res) => void res.json(await work(e.gated(req).hold, req.get('x-used'), req.get('x-settle'))));
    app.post('/images-again', e.chargeCredits(charge), (req, res) => void res.json({ ok: true, credits: e.gated(req).credits }));
    app.post('/gen', e.chargeCredits(charge), e.chargeCredits(video), (req, res) => void res.json({ credits: e.gated(req).credits }));
    app.post(
      '/images/:n',
      e.chargeCredits({ ...charge, quantity: (req) => Number(req.params.n) }),
      (req, res) => void res.json({ credits: e.gated(req).credits }),
    );
    app.get('/metered', e.meterUsage(meter), (_q, res) => void res.json({ ok: true }));
    // The body parser after the charge: what the charge read of the body is put back for it.
    app.post('/paid/:size', e.chargeCredits(charge), express.json(), async (req, res) => {
      res.json(await paidAnswer(req.params.size as string, (req.body as { prompt?: unknown } | undefined)?.prompt));
    });
    app.get('/meter-any/:x', e.meterUsage(meter), (_q, res) => void res.json({ ok: true }));
    app.get('/metered-two', e.meterUsage(meter), e.meterUsage(tokens), (_q, res) => void res.json({ ok: true }));
    app.get('/metered-bad', e.meterUsage({ ...meter, quantity: () => Number.NaN }), (_q, res) => void res.json({ ok: true }));
    app.get('/metered-fail', e.meterUsage(meter), (_q, res) => void res.status(500).json({ ok: false }));
    app.get(
      '/metered-weighted',
      e.meterUsage({ ...meter, quantity: (_q, res) => Number(res.getHeader('x-units')) }),
      (_q, res) => void res.set('x-units', '7').json({ ok: true }),
    );
    app.get('/metered-held', e.meterUsage(meter), async (_q, res) => {
      const h = held.current;
      res.once('close', () => h.closed.resolve());
      h.reached.resolve();
      await h.release.promise;
      if (!res.destroyed) res.json({ ok: true });
    });
    // A body parser before a second webhook mount: that mount must refuse to verify a parsed body.
    app.use(express.json());
    app.use('/webhooks-after-parser', e.webhookRouter());
    app.use(((err, _req, res, _next) => {
      appErrors.push(err);
      res.status(500).json({ error: (err as Error).message, handledBy: 'app' });
    }) as express.ErrorRequestHandler);
    return { ...(await listen(app)), hold: held.hold };
  }

  if (fw === 'koa') {
    const app = new Koa();
    const k = koaGate(gate, { accountRefId: (ctx) => resolveFrom(ctx.headers) });
    const router = new Router();
    app.use(async (ctx, next) => {
      try {
        await next();
      } catch (err) {
        ctx.status = 500;
        appErrors.push(err);
        ctx.body = { error: (err as Error).message, handledBy: 'app' };
      }
    });
    app.use((ctx, next) => {
      const err = appFails(ctx.headers);
      if (err) throw err;
      return next();
    });
    app.use(k.webhookRouter({ path: '/webhooks/ecom9', ...hooks }));
    router.get('/tier', k.requireTier('pro'), (ctx) => void (ctx.body = { ok: true, ecom9: ctx.state.ecom9 }));
    router.get('/tier-sub', k.requireTier(['pro', 'enterprise'], { subscription: 'studio-suite' }), (ctx) => void (ctx.body = { ok: true }));
    router.get('/links', k.requireTier('enterprise', { upgradeLink: true, paymentLink: true }), (ctx) => void (ctx.body = { ok: true }));
    router.get('/pay', k.requireTier('pro', { paymentLink: true }), (ctx) => void (ctx.body = { ok: true }));
    router.get('/ent', k.requireEntitlement('pro-api', 'api_access'), (ctx) => void (ctx.body = { ok: true }));
    router.get(
      '/custom',
      k.requireTier('enterprise', { onDenied: (ctx, d) => ((ctx.status = 418), (ctx.body = teapot(d))) }),
      (ctx) => void (ctx.body = { ok: true }),
    );
    router.get('/soft', k.requireTier('enterprise', { onDenied: (_c, _d, next) => next() }), (ctx) => void (ctx.body = { code: k.gated(ctx).decision?.code }));
    router.get('/boom-tier', k.requireTier('enterprise', { onDenied: (ctx) => boom(ctx.headers) }), (ctx) => void (ctx.body = { ok: true }));
    router.post('/boom-charge', k.chargeCredits({ ...charge, quantity: 50, onDenied: (ctx) => boom(ctx.headers) }), (ctx) => void (ctx.body = { ok: true }));
    router.post('/images', k.chargeCredits(charge), (ctx) => void (ctx.body = { ok: true, credits: k.gated(ctx).credits }));
    router.post('/answer', k.reserveCredits(answer), async (ctx) => void (ctx.body = await work(k.gated(ctx).hold, ctx.get('x-used'), ctx.get('x-settle'))));
    router.post('/images-again', k.chargeCredits(charge), (ctx) => void (ctx.body = { ok: true, credits: k.gated(ctx).credits }));
    router.post('/gen', k.chargeCredits(charge), k.chargeCredits(video), (ctx) => void (ctx.body = { credits: k.gated(ctx).credits }));
    router.post(
      '/images/:n',
      k.chargeCredits({ ...charge, quantity: (ctx) => Number((ctx as unknown as { params: { n: string } }).params.n) }),
      (ctx) => void (ctx.body = { credits: k.gated(ctx).credits }),
    );
    router.get('/metered', k.meterUsage(meter), (ctx) => void (ctx.body = { ok: true }));
    router.post('/paid/:size', k.chargeCredits(charge), async (ctx) => {
      ctx.body = await paidAnswer(ctx.params.size as string, promptIn(await rawText(ctx.req)));
    });
    router.get('/meter-any/:x', k.meterUsage(meter), (ctx) => void (ctx.body = { ok: true }));
    router.get('/metered-two', k.meterUsage(meter), k.meterUsage(tokens), (ctx) => void (ctx.body = { ok: true }));
    router.get('/metered-bad', k.meterUsage({ ...meter, quantity: () => Number.NaN }), (ctx) => void (ctx.body = { ok: true }));
    router.get('/metered-fail', k.meterUsage(meter), (ctx) => ((ctx.status = 500), (ctx.body = { ok: false })));
    router.get(
      '/metered-weighted',
      k.meterUsage({ ...meter, quantity: (ctx) => Number(ctx.response.get('x-units')) }),
      (ctx) => (ctx.set('x-units', '7'), (ctx.body = { ok: true })),
    );
    router.get('/metered-held', k.meterUsage(meter), async (ctx) => {
      const h = held.current;
      // Koa's status is 404 until a body is set: 200 now, so only the abort keeps it from being metered.
      ctx.status = 200;
      ctx.res.once('close', () => h.closed.resolve());
      h.reached.resolve();
      await h.release.promise;
      ctx.body = { ok: true };
    });
    // Before two more webhook mounts: a real JSON parser (reads the stream, sets the body) and a
    // middleware that only reads the stream (say, to log it). Neither mount can verify anything.
    router.post('/webhooks-after-parser', async (ctx, next) => {
      const chunks: Buffer[] = [];
      for await (const c of ctx.req) chunks.push(c as Buffer);
      (ctx.request as { body?: unknown }).body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      await next();
    });
    router.post('/webhooks-after-reader', async (ctx, next) => {
      for await (const _ of ctx.req);
      await next();
    });
    app.use(router.routes());
    app.use(k.webhookRouter({ path: '/webhooks-after-parser' }));
    app.use(k.webhookRouter({ path: '/webhooks-after-reader' }));
    return { ...(await listen(app)), hold: held.hold };
  }

  const app = Fastify();
  app.setErrorHandler((err: Error, _req, reply) => {
    appErrors.push(err);
    return reply.code(500).send({ error: err.message, handledBy: 'app' });
  });
  app.addHook('onRequest', (req, _reply, done) => done(appFails(req.headers)));
  // An app-wide JSON parser: the webhook route's scoped raw parser must still get the raw bytes.
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => {
    try {
      done(null, JSON.parse(body as string));
    } catch (e) {
      done(e as Error);
    }
  });
  await app.register(fastifyGate, {
    gate,
    accountRefId: (req) => resolveFrom(req.headers),
    webhookPath: '/webhooks/ecom9',
    ...(opts.handlers ? { webhookHandlers: opts.handlers } : {}),
  });
  const f = app.ecom9;
  app.get('/tier', { preHandler: f.requireTier('pro') }, async (req) => ({ ok: true, ecom9: req.ecom9 }));
  app.get('/tier-sub', { preHandler: f.requireTier(['pro', 'enterprise'], { subscription: 'studio-suite' }) }, async () => ({ ok: true }));
  app.get('/links', { preHandler: f.requireTier('enterprise', { upgradeLink: true, paymentLink: true }) }, async () => ({ ok: true }));
  app.get('/pay', { preHandler: f.requireTier('pro', { paymentLink: true }) }, async () => ({ ok: true }));
  app.get('/ent', { preHandler: f.requireEntitlement('pro-api', 'api_access') }, async () => ({ ok: true }));
  app.get('/custom', { preHandler: f.requireTier('enterprise', { onDenied: (_q, reply, d) => reply.code(418).send(teapot(d)) }) }, async () => ({ ok: true }));
  app.get('/soft', { preHandler: f.requireTier('enterprise', { onDenied: (_q, _r, _d, next) => next() }) }, async (req) => ({
    code: f.gated(req).decision?.code,
  }));
  app.get('/boom-tier', { preHandler: f.requireTier('enterprise', { onDenied: (req) => boom(req.headers) }) }, async () => ({ ok: true }));
  app.post('/boom-charge', { preHandler: f.chargeCredits({ ...charge, quantity: 50, onDenied: (req) => boom(req.headers) }) }, async () => ({ ok: true }));
  app.get(
    '/next-then-throw',
    {
      preHandler: f.requireTier('enterprise', {
        onDenied: (_q, _r, _d, next) => {
          next();
          throw new Error('after next');
        },
      }),
    },
    async () => ({ ran: true }),
  );
  app.post('/images', { preHandler: f.chargeCredits(charge) }, async (req) => ({ ok: true, credits: f.gated(req).credits }));
  app.post('/answer', { preHandler: f.reserveCredits(answer) }, (req) => work(f.gated(req).hold, req.headers['x-used'] as string, req.headers['x-settle']));
  app.post('/images-again', { preHandler: f.chargeCredits(charge) }, async (req) => ({ ok: true, credits: f.gated(req).credits }));
  app.post('/gen', { preHandler: [f.chargeCredits(charge), f.chargeCredits(video)] }, async (req) => ({ credits: f.gated(req).credits }));
  app.post('/images/:n', { preHandler: f.chargeCredits({ ...charge, quantity: (req) => Number((req.params as { n: string }).n) }) }, async (req) => ({
    credits: f.gated(req).credits,
  }));
  // onResponse (no listener) for these; onRequest for the held one, which must see an abort.
  // The recommended hook (onRequest: one 'close' listener) here; onResponse on the routes below.
  app.get('/metered', { onRequest: f.meterUsage(meter) }, async () => ({ ok: true }));
  app.post('/paid/:size', { preHandler: f.chargeCredits(charge) }, async (req) =>
    paidAnswer((req.params as { size: string }).size, (req.body as { prompt?: unknown } | undefined)?.prompt),
  );
  app.get('/meter-any/:x', { onRequest: f.meterUsage(meter) }, async () => ({ ok: true }));
  app.get('/metered-two', { onResponse: [f.meterUsage(meter), f.meterUsage(tokens)] }, async () => ({ ok: true }));
  app.get('/metered-bad', { onResponse: f.meterUsage({ ...meter, quantity: () => Number.NaN }) }, async () => ({ ok: true }));
  app.get('/metered-fail', { onRequest: f.meterUsage(meter) }, async (_q, reply) => reply.code(500).send({ ok: false }));
  app.get('/metered-weighted', { onResponse: f.meterUsage({ ...meter, quantity: (_q, reply) => Number(reply.getHeader('x-units')) }) }, async (_q, reply) =>
    reply.header('x-units', '7').send({ ok: true }),
  );
  app.get('/metered-held', { onRequest: f.meterUsage(meter) }, async (_q, reply) => {
    const h = held.current;
    reply.raw.once('close', () => h.closed.resolve());
    h.reached.resolve();
    await h.release.promise;
    return { ok: true };
  });
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  return { url, hold: held.hold, close: () => app.close() };
}

/**
 * An app whose adapter has its own onDenied (answering 451): a route without one, a charge, and a
 * route whose own onDenied overrides it.
 */
/** An app whose adapter has its own onDenied (451) and sends a resolver's failure to the framework's error path (resolverError 'throw'). */
export async function startDeniedApp(fw: Framework, gate: Gate): Promise<RunningApp> {
  if (isWeb(fw)) return serveWeb(webDeniedApp(fw, gate));
  if (isNest(fw)) return (await import('./nest-app')).startNestDeniedApp(nestPlatform(fw), gate);
  const held = holder();
  const adapterLevel = (d: Decision) => ({ adapterLevel: true, code: d.code });
  const short = { ...charge, quantity: 50 };
  if (fw === 'express') {
    const app = express();
    const e = expressGate(gate, {
      accountRefId: (req) => resolveFrom(req.headers),
      resolverError: 'throw',
      onDenied: (_q, res, d) => void res.status(451).json(adapterLevel(d)),
    });
    app.get('/tier', e.requireTier('enterprise'), (_q, res) => void res.json({ ran: true }));
    app.post('/charge', e.chargeCredits(short), (_q, res) => void res.json({ ran: true }));
    app.get(
      '/override',
      e.requireTier('enterprise', { onDenied: (_q, res, d) => void res.status(418).json(teapot(d)) }),
      (_q, res) => void res.json({ ran: true }),
    );
    return { ...(await listen(app)), hold: held.hold };
  }
  if (fw === 'koa') {
    const app = new Koa();
    const k = koaGate(gate, {
      accountRefId: (ctx) => resolveFrom(ctx.headers),
      resolverError: 'throw',
      onDenied: (ctx, d) => ((ctx.status = 451), (ctx.body = adapterLevel(d))),
    });
    const router = new Router();
    router.get('/tier', k.requireTier('enterprise'), (ctx) => void (ctx.body = { ran: true }));
    router.post('/charge', k.chargeCredits(short), (ctx) => void (ctx.body = { ran: true }));
    router.get(
      '/override',
      k.requireTier('enterprise', { onDenied: (ctx, d) => ((ctx.status = 418), (ctx.body = teapot(d))) }),
      (ctx) => void (ctx.body = { ran: true }),
    );
    app.use(router.routes());
    return { ...(await listen(app)), hold: held.hold };
  }
  const app = Fastify();
  await app.register(fastifyGate, {
    gate,
    accountRefId: (req) => resolveFrom(req.headers),
    resolverError: 'throw',
    onDenied: (_q, reply, d) => reply.code(451).send(adapterLevel(d)),
  });
  const f = app.ecom9;
  app.get('/tier', { preHandler: f.requireTier('enterprise') }, async () => ({ ran: true }));
  app.post('/charge', { preHandler: f.chargeCredits(short) }, async () => ({ ran: true }));
  app.get('/override', { preHandler: f.requireTier('enterprise', { onDenied: (_q, reply, d) => reply.code(418).send(teapot(d)) }) }, async () => ({
    ran: true,
  }));
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  return { url, hold: held.hold, close: () => app.close() };
}
