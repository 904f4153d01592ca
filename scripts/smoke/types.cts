// The same types from a CommonJS TypeScript file, every subpath.
import { createGate, type Decision } from 'ecom9-gate';
import { expressGate } from 'ecom9-gate/express';
import { koaGate } from 'ecom9-gate/koa';
import { fastifyGate } from 'ecom9-gate/fastify';
import { createEmulator } from 'ecom9-gate/emulator';
import { redisBus } from 'ecom9-gate/redis';
import express = require('express');
import Koa = require('koa');
import Fastify = require('fastify');

const gate = createGate({ apiKey: 'k', bus: redisBus({ url: 'redis://127.0.0.1:6379' }) });
const app = express();
const e = expressGate(gate, { accountRefId: () => 'a' });
app.get('/', e.requireEntitlement('p', 'e'), (req, res) => {
  const d: Decision | undefined = e.gated(req).decision;
  res.json(d);
});
new Koa().use(koaGate(gate, { accountRefId: () => 'a' }).requireTier('pro')).use((ctx) => {
  ctx.body = ctx.state.ecom9?.decision?.code;
});
const f = Fastify();
void f.register(fastifyGate, { gate, accountRefId: () => 'a' }).after(() => {
  f.get('/', { preHandler: f.ecom9.requireTier('pro') }, async (req) => f.ecom9.gated(req).decision?.status);
});
void createEmulator;
