// ecom9-gate/testing under node:test (run by test/testing-kit.test.ts with `node --import tsx --test`; not a vitest file).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createTestGate, type TestGate } from 'ecom9-gate/testing';

let t: TestGate;
before(async () => {
  t = await createTestGate();
});
after(() => t.close());

test('a cancelled subscription is denied on the very next check', async () => {
  assert.equal((await t.gate.checkTier('acme', { tiers: 'pro' })).allowed, true);
  await t.cancel('acme', 'studio-suite');
  assert.equal((await t.gate.checkTier('acme', { tiers: 'pro' })).code, 'tier_required');
  assert.equal(t.calls('accounts.status', 'acme'), 2);
});

test('a debit is charged once per event key', async () => {
  const input = { accountRefId: 'globex', product: 'ai-images', meter: 'credits', quantity: 2, eventKey: 'n1' };
  await t.gate.debitCredits(input);
  await t.gate.debitCredits(input);
  assert.equal(t.debited('globex', 'ai-images', 'credits'), 2);
  assert.equal(t.credits('globex', 'ai-images', 'credits'), 1);
});
