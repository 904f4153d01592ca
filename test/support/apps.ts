// The same small app in Express, Koa and Fastify, listening on loopback, so one scenario table can
// run against all three adapters. The account comes from the `x-account` header ('throw' makes the
// resolver throw, an `x-async` header makes it async).
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import express from 'express';
import Koa from 'koa';
import Router from '@koa/router';
import Fastify from 'fastify';
import { expressGate } from 'ecom9-gate/express';
import { koaGate } from 'ecom9-gate/koa';
import { fastifyGate } from 'ecom9-gate/fastify';
import type { Decision, Gate } from 'ecom9-gate';

export const FRAMEWORKS = ['express', 'koa', 'fastify'] as const;
export type Framework = (typeof FRAMEWORKS)[number];

export interface RunningApp {
  url: string;
  close(): Promise<void>;
}

type Headers = Record<string, string | string[] | undefined>;

function resolveFrom(headers: Headers): unknown {
  const acc = headers['x-account'];
  if (acc === 'throw') throw new Error('resolver exploded');
  if (acc === 'number') return 42;
  if (headers['x-async']) return Promise.resolve(acc);
  return acc;
}

const teapot = (d: Decision) => ({ custom: true, code: d.code });

const charge = { product: 'ai-images', meter: 'credits', quantity: 5, topUpUrl: 'https://billing.example.com/top-up' };
const meter = { product: 'api-access', meter: 'api_calls' };

function closer(server: Server) {
  return () =>
    new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    });
}

export async function startApp(fw: Framework, gate: Gate): Promise<RunningApp> {
  if (fw === 'express') {
    const app = express();
    const e = expressGate(gate, { accountRefId: (req) => resolveFrom(req.headers) });
    app.use('/webhooks/ecom9', e.webhookRouter());
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
    app.post('/images', e.chargeCredits(charge), (req, res) => void res.json({ ok: true, credits: req.ecom9.credits }));
    app.post(
      '/images/:n',
      e.chargeCredits({ ...charge, quantity: (req) => Number(req.params.n) }),
      (req, res) => void res.json({ credits: req.ecom9.credits }),
    );
    app.get('/metered', e.meterUsage(meter), (_q, res) => void res.json({ ok: true }));
    app.get('/metered-fail', e.meterUsage(meter), (_q, res) => void res.status(500).json({ ok: false }));
    app.get(
      '/metered-weighted',
      e.meterUsage({ ...meter, quantity: (_q, res) => Number(res.getHeader('x-units')) }),
      (_q, res) => void res.set('x-units', '7').json({ ok: true }),
    );
    app.get('/metered-slow', e.meterUsage(meter), (_q, res) => void setTimeout(() => res.json({ ok: true }), 300));
    // A body parser before a second webhook mount: that mount must refuse to verify a parsed body.
    app.use(express.json());
    app.use('/webhooks-after-parser', e.webhookRouter());
    app.use(((err, _req, res, _next) => void res.status(500).json({ error: (err as Error).message })) as express.ErrorRequestHandler);
    const server = app.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: closer(server) };
  }

  if (fw === 'koa') {
    const app = new Koa();
    const k = koaGate(gate, { accountRefId: (ctx) => resolveFrom(ctx.headers) });
    const router = new Router();
    app.use(k.webhookRouter({ path: '/webhooks/ecom9' }));
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
    router.post('/images', k.chargeCredits(charge), (ctx) => void (ctx.body = { ok: true, credits: ctx.state.ecom9.credits }));
    router.post(
      '/images/:n',
      k.chargeCredits({ ...charge, quantity: (ctx) => Number((ctx as unknown as { params: { n: string } }).params.n) }),
      (ctx) => void (ctx.body = { credits: ctx.state.ecom9.credits }),
    );
    router.get('/metered', k.meterUsage(meter), (ctx) => void (ctx.body = { ok: true }));
    router.get('/metered-fail', k.meterUsage(meter), (ctx) => ((ctx.status = 500), (ctx.body = { ok: false })));
    router.get(
      '/metered-weighted',
      k.meterUsage({ ...meter, quantity: (ctx) => Number(ctx.response.get('x-units')) }),
      (ctx) => (ctx.set('x-units', '7'), (ctx.body = { ok: true })),
    );
    router.get('/metered-slow', k.meterUsage(meter), async (ctx) => {
      await new Promise((r) => setTimeout(r, 300));
      ctx.body = { ok: true };
    });
    // A body parser before a second webhook mount: that mount must refuse to verify a parsed body.
    router.post('/webhooks-after-parser', async (ctx, next) => {
      (ctx.request as { body?: unknown }).body = { parsed: true };
      await next();
    });
    app.use(async (ctx, next) => {
      try {
        await next();
      } catch (err) {
        ctx.status = 500;
        ctx.body = { error: (err as Error).message };
      }
    });
    app.use(router.routes());
    app.use(k.webhookRouter({ path: '/webhooks-after-parser' }));
    const server = app.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: closer(server) };
  }

  const app = Fastify();
  // An app-wide JSON parser: the webhook route's scoped raw parser must still get the raw bytes.
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => {
    try {
      done(null, JSON.parse(body as string));
    } catch (e) {
      done(e as Error);
    }
  });
  await app.register(fastifyGate, { gate, accountRefId: (req) => resolveFrom(req.headers), webhookPath: '/webhooks/ecom9' });
  const f = app.ecom9;
  app.get('/tier', { preHandler: f.requireTier('pro') }, async (req) => ({ ok: true, ecom9: req.ecom9 }));
  app.get('/tier-sub', { preHandler: f.requireTier(['pro', 'enterprise'], { subscription: 'studio-suite' }) }, async () => ({ ok: true }));
  app.get('/links', { preHandler: f.requireTier('enterprise', { upgradeLink: true, paymentLink: true }) }, async () => ({ ok: true }));
  app.get('/pay', { preHandler: f.requireTier('pro', { paymentLink: true }) }, async () => ({ ok: true }));
  app.get('/ent', { preHandler: f.requireEntitlement('pro-api', 'api_access') }, async () => ({ ok: true }));
  app.get('/custom', { preHandler: f.requireTier('enterprise', { onDenied: (_q, reply, d) => reply.code(418).send(teapot(d)) }) }, async () => ({ ok: true }));
  app.post('/images', { preHandler: f.chargeCredits(charge) }, async (req) => ({ ok: true, credits: req.ecom9.credits }));
  app.post('/images/:n', { preHandler: f.chargeCredits({ ...charge, quantity: (req) => Number((req.params as { n: string }).n) }) }, async (req) => ({
    credits: req.ecom9.credits,
  }));
  // onResponse (no listener) for these; onRequest for the slow one, which must see an abort.
  app.get('/metered', { onResponse: f.meterUsage(meter) }, async () => ({ ok: true }));
  app.get('/metered-fail', { onResponse: f.meterUsage(meter) }, async (_q, reply) => reply.code(500).send({ ok: false }));
  app.get('/metered-weighted', { onResponse: f.meterUsage({ ...meter, quantity: (_q, reply) => Number(reply.getHeader('x-units')) }) }, async (_q, reply) =>
    reply.header('x-units', '7').send({ ok: true }),
  );
  app.get('/metered-slow', { onRequest: f.meterUsage(meter) }, async () => {
    await new Promise((r) => setTimeout(r, 300));
    return { ok: true };
  });
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  return { url, close: () => app.close() };
}
