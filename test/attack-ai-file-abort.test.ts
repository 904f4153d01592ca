// Attack: a model call that streams a file (an image from a model that draws) is charged nothing when
// the caller takes the file and aborts before `finish`. Only text, reasoning and tool-input deltas
// count as delivered; a call with nothing delivered and no provider usage releases its hold. The
// caller has the image; ecom9 has no debit. (docs/ai.md: "never 0 once text was delivered".)
import { streamText, wrapLanguageModel } from 'ai';
import { creditsMiddleware, type AiSettlement } from 'ecom9-gate/ai';
import { createTestGate, type TestGate } from 'ecom9-gate/testing';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { feed, streamModel } from './support/ai-models';

const P = 'ai-images';
const M = 'credits';
let t: TestGate;
beforeEach(async () => {
  t = await createTestGate();
  await t.setCredits('acme', P, M, 1000);
});
afterEach(() => t.close());

it('a streamed file that reached the caller is charged when the caller then aborts', async () => {
  const f = feed();
  let settled!: (s: AiSettlement) => void;
  const settlement = new Promise<AiSettlement>((r) => (settled = r));
  const model = wrapLanguageModel({
    model: streamModel(() => f),
    middleware: creditsMiddleware(t.gate, {
      accountRefId: 'acme',
      product: P,
      meter: M,
      reserve: 200,
      price: ({ inputTokens, outputTokens }) => Math.ceil(inputTokens / 1000) + Math.ceil(outputTokens / 250),
      onSettled: settled,
    }),
  });
  const ac = new AbortController();
  const r = streamText({ model, prompt: 'draw a cat', maxRetries: 0, abortSignal: ac.signal });
  const png = 'iVBORw0KGgo' + 'A'.repeat(4000);
  f.push({ type: 'file', mediaType: 'image/png', data: { type: 'data', data: png } });
  let gotFile = false;
  try {
    for await (const part of r.fullStream) {
      if (part.type === 'file') {
        gotFile = true;
        ac.abort();
      }
    }
  } catch {
    // the abort
  }
  const s = await settlement;
  expect(gotFile).toBe(true);
  expect(s.outcome).toBe('aborted');
  expect(s.charged).toBeGreaterThan(0);
});
