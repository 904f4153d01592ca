// Attack: creditsMiddleware's `key` ("e.g. your request id", docs) names a call, but the hold key is
// that string alone. Every model call under it after the first (the steps of one multi-step run,
// which all see the same request id, or a client reusing its request id with other prompts) gets a
// hold at once (the key was charged) and settles under the first call's event_key: ecom9 answers
// with the first debit, and the call is free.
import { generateText, wrapLanguageModel } from 'ai';
import { creditsMiddleware } from 'ecom9-gate/ai';
import { createTestGate, type TestGate } from 'ecom9-gate/testing';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { generateModel, v4Usage } from './support/ai-models';

const P = 'ai-images';
const M = 'credits';
let t: TestGate;
beforeEach(async () => {
  t = await createTestGate();
  await t.setCredits('acme', P, M, 1000);
});
afterEach(() => t.close());

const debits = () => t.emulator.ledger.filter((r) => r.approved && r.accountRefId === 'acme' && r.product === P).map((r) => r.quantity);

it('two different model calls under one request id are each charged', async () => {
  const model = wrapLanguageModel({
    model: generateModel('an answer', v4Usage(1000, 1000)),
    middleware: creditsMiddleware(t.gate, {
      accountRefId: 'acme',
      product: P,
      meter: M,
      reserve: 200,
      price: ({ inputTokens, outputTokens }) => Math.ceil(inputTokens / 1000) + Math.ceil(outputTokens / 250),
      key: () => 'request-42',
    }),
  });
  await generateText({ model, prompt: 'step one', maxRetries: 0 });
  await generateText({ model, prompt: 'step two, after the tool ran', maxRetries: 0 });
  await t.gate.flush();
  expect(debits()).toEqual([5, 5]);
  expect(t.credits('acme', P, M)).toBe(990);
});

it('the same call retried under its key is still charged once', async () => {
  const model = wrapLanguageModel({
    model: generateModel('an answer', v4Usage(1000, 1000)),
    middleware: creditsMiddleware(t.gate, {
      accountRefId: 'acme',
      product: P,
      meter: M,
      reserve: 200,
      price: ({ inputTokens, outputTokens }) => Math.ceil(inputTokens / 1000) + Math.ceil(outputTokens / 250),
      key: () => 'request-43',
    }),
  });
  await generateText({ model, prompt: 'the same prompt', maxRetries: 0 });
  await generateText({ model, prompt: 'the same prompt', maxRetries: 0 });
  await t.gate.flush();
  expect(debits()).toEqual([5]);
});
