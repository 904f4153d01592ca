// Type-checked with moduleResolution nodenext against the packed .d.ts files.
import { createGate, type Decision, type Gate, Ecom9Error } from 'ecom9-gate';
import { expressGate } from 'ecom9-gate/express';
import { koaGate } from 'ecom9-gate/koa';
import { fastifyGate } from 'ecom9-gate/fastify';
import { createEmulator } from 'ecom9-gate/emulator';
import { redisBus } from 'ecom9-gate/redis';
import express from 'express';
import Koa from 'koa';
import Fastify from 'fastify';

const gate: Gate = createGate({ apiKey: 'k', cache: { ttlMs: 1000 }, failMode: 'open' });
const app = express();
const e = expressGate(gate, { accountRefId: (req) => req.get('x-account') });
app.get('/', e.requireTier('pro'), (req, res) => {
  const d: Decision | undefined = e.gated(req).decision; // typed as present behind a middleware: no cast
  res.json({ allowed: d?.allowed, credits: req.ecom9?.credits?.remainingBalance });
});
const k = koaGate(gate, { accountRefId: (ctx) => ctx.get('x-account') });
new Koa().use(k.requireTier('pro')).use((ctx) => {
  ctx.body = k.gated(ctx).decision?.code;
});
const f = Fastify();
await f.register(fastifyGate, { gate, accountRefId: (req) => String(req.headers['x-account']) });
f.get('/', { preHandler: f.ecom9.requireTier('pro') }, async (req) => f.ecom9.gated(req).decision?.status);
const emu = createEmulator();
const bus = redisBus({ url: 'redis://127.0.0.1:6379' });
const isErr: boolean = new Error() instanceof Ecom9Error;
void [emu, bus, isErr];
