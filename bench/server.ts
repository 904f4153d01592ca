// One framework app for the HTTP benchmarks: the same handler bare and behind each middleware, on
// one server, so both sides are measured in the same process. Prints its URL once the cache is warm.
import type { AddressInfo } from 'node:net';
import express from 'express';
import Koa from 'koa';
import Router from '@koa/router';
import Fastify from 'fastify';
import { core, express as expressAdapter, fastify as fastifyAdapter, koa as koaAdapter } from './code';
import { webBenchApp } from './web-server';

const fw = process.env.FRAMEWORK as 'express' | 'koa' | 'fastify' | 'hono' | 'fetch';
const { expressGate } = expressAdapter;
const { koaGate } = koaAdapter;
const { fastifyGate } = fastifyAdapter;
const gate = core.createGate({
  apiKey: process.env.EMU_KEY as string,
  baseUrl: process.env.EMU_URL as string,
  // Long enough that nothing expires during a run: these benchmarks measure the warm path.
  cache: { ttlMs: 3_600_000, denyTtlMs: 3_600_000 },
  usage: { maxQueue: 5_000_000, concurrency: 32 },
  logger: { warn: () => {} },
});
const meter = { product: 'api-access', meter: 'api_calls' };
const body = { ok: true };
let url: string;

if (fw === 'express') {
  const app = express();
  const e = expressGate(gate, { accountRefId: (req) => req.headers['x-account'] });
  app.get('/bare', (_req, res) => void res.json(body));
  // Any middleware at all, for reference: what a route pays for one more layer in this framework.
  app.get(
    '/noop',
    (_req, _res, next) => next(),
    (_req, res) => void res.json(body),
  );
  app.get('/tier', e.requireTier('pro'), (_req, res) => void res.json(body));
  app.get('/ent', e.requireEntitlement('pro-api', 'api_access'), (_req, res) => void res.json(body));
  app.get('/meter', e.meterUsage(meter), (_req, res) => void res.json(body));
  const server = app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
} else if (fw === 'koa') {
  const app = new Koa();
  const k = koaGate(gate, { accountRefId: (ctx) => ctx.headers['x-account'] });
  const router = new Router();
  router.get('/bare', (ctx) => void (ctx.body = body));
  router.get(
    '/noop',
    (_ctx, next) => next(),
    (ctx) => void (ctx.body = body),
  );
  router.get('/tier', k.requireTier('pro'), (ctx) => void (ctx.body = body));
  router.get('/ent', k.requireEntitlement('pro-api', 'api_access'), (ctx) => void (ctx.body = body));
  router.get('/meter', k.meterUsage(meter), (ctx) => void (ctx.body = body));
  app.use(router.routes());
  const server = app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
} else if (fw === 'hono' || fw === 'fetch') {
  url = await webBenchApp(fw, gate, meter, body);
} else {
  const app = Fastify();
  await app.register(fastifyGate, { gate, accountRefId: (req) => req.headers['x-account'] });
  app.get('/bare', async () => body);
  app.get('/noop', { preHandler: (_req, _reply, done) => done() }, async () => body);
  app.get('/tier', { preHandler: app.ecom9.requireTier('pro') }, async () => body);
  app.get('/ent', { preHandler: app.ecom9.requireEntitlement('pro-api', 'api_access') }, async () => body);
  app.get('/meter', { onRequest: app.ecom9.meterUsage(meter) }, async () => body);
  url = await app.listen({ port: 0, host: '127.0.0.1' });
}

// Warm the cache through the real routes.
for (const path of ['/tier', '/ent']) {
  const res = await fetch(url + path, { headers: { 'x-account': 'acme' } });
  if (res.status !== 200) throw new Error(`warm-up of ${path} answered ${res.status}`);
}
await gate.flush();

// A side door for the parent: flush usage and report stats (not part of any measured route).
const { createServer } = await import('node:http');
const control = createServer((_req, res) => {
  void gate.flush().then(() => res.end(JSON.stringify(gate.stats())));
});
await new Promise<void>((r) => control.listen(0, '127.0.0.1', r));
process.stdout.write(`${JSON.stringify({ url, control: `http://127.0.0.1:${(control.address() as AddressInfo).port}` })}\n`);
process.on('SIGTERM', () => process.exit(0));
process.on('SIGINT', () => process.exit(0));
