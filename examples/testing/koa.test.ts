// Testing a Koa app's gated routes with supertest on app.callback() (shown in docs/testing.md).
import Koa from 'koa';
import Router from '@koa/router';
import request from 'supertest';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createTestGate, type TestGate } from 'ecom9-gate/testing';
import { koaGate } from 'ecom9-gate/koa';

let t: TestGate;
let server: ReturnType<Koa['callback']>;

beforeAll(async () => {
  t = await createTestGate();
  const k = koaGate(t.gate, { accountRefId: (ctx) => ctx.get('x-account-id') });
  const router = new Router();
  router.get('/v1/search', k.requireEntitlement('pro-api', 'api_access'), (ctx) => {
    ctx.body = { results: [] };
  });
  server = new Koa().use(router.routes()).callback();
});
afterAll(() => t.close());

it('follows the entitlement as ecom9 changes it', async () => {
  await request(server).get('/v1/search').set('x-account-id', 'globex').expect(403);
  await t.setEntitlement('globex', 'pro-api', 'api_access', true);
  await request(server).get('/v1/search').set('x-account-id', 'globex').expect(200, { results: [] });
  expect(t.calls('entitlements.check', 'globex')).toBe(2); // one per change, not one per request
});

it('answers 503 when ecom9 is down and nothing is cached', async () => {
  t.emulator.inject({ endpoint: 'entitlements.check', kind: 'status', status: 503, times: 3 });
  const res = await request(server).get('/v1/search').set('x-account-id', 'initech').expect(503);
  expect(res.body.code).toBe('upstream_unavailable');
});
