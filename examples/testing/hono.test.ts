// Testing a Hono app's gated routes with app.request(), Hono's own test client (shown in docs/testing.md).
import { Hono } from 'hono';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createTestGate, type TestGate } from 'ecom9-gate/testing';
import { honoGate } from 'ecom9-gate/hono';

let t: TestGate;
const app = new Hono();

beforeAll(async () => {
  t = await createTestGate();
  const h = honoGate(t.gate, { accountRefId: (c) => c.req.header('x-account-id') });
  app.get('/reports', h.requireTier('pro'), (c) => c.json({ report: 'q3' }));
  app.post('/images', h.chargeCredits({ product: 'ai-images', meter: 'credits', quantity: 5 }), (c) => c.json({ ok: true }));
});
afterAll(() => t.close());

it('denies a cancelled subscription on the very next request', async () => {
  const asAcme = { headers: { 'x-account-id': 'acme' } };
  expect((await app.request('/reports', asAcme)).status).toBe(200);
  await t.cancel('acme', 'studio-suite');
  const res = await app.request('/reports', asAcme);
  expect(res.status).toBe(403);
  expect(res.headers.get('content-type')).toBe('application/problem+json');
  expect(await res.json()).toMatchObject({ code: 'tier_required' });
});

it('charges a retried request with the same Idempotency-Key once', async () => {
  const init = { method: 'POST', headers: { 'x-account-id': 'globex', 'idempotency-key': 'img-1' } };
  await t.setCredits('globex', 'ai-images', 'credits', 5);
  expect((await app.request('/images', init)).status).toBe(200);
  expect((await app.request('/images', init)).status).toBe(200);
  expect(t.debited('globex', 'ai-images', 'credits')).toBe(5);
  expect(t.credits('globex', 'ai-images', 'credits')).toBe(0);
});
