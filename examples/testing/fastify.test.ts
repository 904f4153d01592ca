// Testing a Fastify app's gated routes with supertest on app.server (shown in docs/testing.md).
import Fastify, { type FastifyInstance } from 'fastify';
import request from 'supertest';
import { afterAll, beforeAll, it } from 'vitest';
import { createTestGate, type TestGate } from 'ecom9-gate/testing';
import { fastifyGate } from 'ecom9-gate/fastify';

let t: TestGate;
let app: FastifyInstance;

beforeAll(async () => {
  t = await createTestGate();
  app = Fastify();
  await app.register(fastifyGate, { gate: t.gate, accountRefId: (req) => req.headers['x-account-id'] });
  app.get('/reports', { preHandler: app.ecom9.requireTier('pro') }, async () => ({ report: 'q3' }));
  await app.ready();
});
afterAll(async () => {
  await app.close();
  await t.close();
});

it('sees an upgrade on the very next request', async () => {
  await request(app.server).get('/reports').set('x-account-id', 'globex').expect(403);
  await t.setTier('globex', 'studio-suite', 'pro');
  await request(app.server).get('/reports').set('x-account-id', 'globex').expect(200, { report: 'q3' });
});
