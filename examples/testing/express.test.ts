// Testing an Express app's gated routes with supertest and ecom9-gate/testing (shown in docs/testing.md).
import express from 'express';
import request from 'supertest';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createTestGate, type TestGate } from 'ecom9-gate/testing';
import { expressGate } from 'ecom9-gate/express';

let t: TestGate;
let app: express.Express;

beforeAll(async () => {
  t = await createTestGate(); // the emulator's demo accounts: acme (pro), globex (starter)
  const ecom9 = expressGate(t.gate, { accountRefId: (req) => req.get('x-account-id') });
  app = express();
  app.get('/reports', ecom9.requireTier('pro'), (_req, res) => res.json({ report: 'q3' }));
  app.post('/images', ecom9.chargeCredits({ product: 'ai-images', meter: 'credits', quantity: 5 }), (_req, res) => res.json({ ok: true }));
  app.get('/v1/search', ecom9.meterUsage({ product: 'api-access', meter: 'api_calls' }), (_req, res) => res.json({ results: [] }));
});
afterAll(() => t.close());

it('lets a pro account in and refuses a starter one', async () => {
  await request(app).get('/reports').set('x-account-id', 'acme').expect(200, { report: 'q3' });
  const res = await request(app).get('/reports').set('x-account-id', 'globex').expect(403);
  expect(res.body.code).toBe('tier_required');
});

it('denies a cancelled subscription on the very next request', async () => {
  await t.setTier('hooli', 'studio-suite', 'pro');
  await request(app).get('/reports').set('x-account-id', 'hooli').expect(200);
  await t.cancel('hooli', 'studio-suite');
  await request(app).get('/reports').set('x-account-id', 'hooli').expect(403);
});

it('charges a retried request with the same Idempotency-Key once', async () => {
  await t.setCredits('pied-piper', 'ai-images', 'credits', 12);
  for (let i = 0; i < 2; i++) await request(app).post('/images').set('x-account-id', 'pied-piper').set('idempotency-key', 'img-1').expect(200);
  expect(t.debited('pied-piper', 'ai-images', 'credits')).toBe(5);
  await request(app).post('/images').set('x-account-id', 'pied-piper').expect(200);
  const res = await request(app).post('/images').set('x-account-id', 'pied-piper').expect(402);
  expect(res.body).toMatchObject({ code: 'insufficient_credits', remaining_balance: 2 });
});

it('meters each successful call', async () => {
  for (let i = 0; i < 3; i++) await request(app).get('/v1/search').set('x-account-id', 'acme').expect(200);
  expect(await t.recorded('acme', 'api-access', 'api_calls')).toBe(3);
});
