// A Hono route streaming a model's answer, paid in prepaid credits priced by tokens: the call is held
// before the model runs (402 problem+json when the balance is short) and settled once for what it
// used, also when the client hangs up midway.
import { streamText, wrapLanguageModel } from 'ai';
import { createGate, PROBLEM_CONTENT_TYPE, type GateOptions } from 'ecom9-gate';
import { creditsMiddleware, CreditsDeniedError, type AiSettlement, type CreditsMiddlewareOptions } from 'ecom9-gate/ai';
import { Hono } from 'hono';
import { type BaseModel, exampleModel } from './model';

/** 1 credit a started 1,000 input tokens and a started 100 output tokens. */
export const price: CreditsMiddlewareOptions['price'] = ({ inputTokens, outputTokens }) => Math.ceil(inputTokens / 1000) + Math.ceil(outputTokens / 100);
const MAX_OUTPUT_TOKENS = 400;

export function buildApp(options: GateOptions = {}, model: BaseModel = exampleModel(), onSettled?: (s: AiSettlement) => void) {
  const gate = createGate(options);
  const app = new Hono();

  app.post('/chat', async (c) => {
    // In a real app the account comes from your auth middleware; here, a header.
    const account = c.req.header('x-account-id');
    const { prompt } = await c.req.json<{ prompt?: string }>();
    if (!account || typeof prompt !== 'string') return c.json({ error: 'x-account-id and a JSON { prompt } are required' }, 400);

    const paid = wrapLanguageModel({
      model,
      middleware: creditsMiddleware(gate, {
        accountRefId: account,
        product: 'ai-images',
        meter: 'credits',
        price,
        // The most this call can cost: its prompt, and every output token it may produce.
        reserve: (params) => price({ ...ZERO, inputTokens: Math.ceil(prompt.length / 4), outputTokens: params.maxOutputTokens ?? MAX_OUTPUT_TOKENS }),
        topUpUrl: 'https://example.com/top-up',
        ...(onSettled ? { onSettled } : {}),
      }),
    });
    const result = streamText({ model: paid, prompt, maxOutputTokens: MAX_OUTPUT_TOKENS, abortSignal: c.req.raw.signal, maxRetries: 0, onError: () => {} });

    // A refused hold is the stream's first part after 'start': answer it as a 402 before any text.
    const parts = result.fullStream[Symbol.asyncIterator]();
    let first = await parts.next();
    while (!first.done && first.value.type === 'start') first = await parts.next();
    if (!first.done && first.value.type === 'error') {
      const err = first.value.error;
      if (err instanceof CreditsDeniedError) return c.body(JSON.stringify(err.problem), err.problem.status as 402, { 'content-type': PROBLEM_CONTENT_TYPE });
      throw err;
    }
    const encoder = new TextEncoder();
    const body = new ReadableStream<Uint8Array>({
      async pull(ctrl) {
        // Read until there is text to send (or the end): a pull that enqueues nothing is not called again.
        for (;;) {
          const next = await parts.next();
          if (next.done) return ctrl.close();
          if (next.value.type === 'text-delta') return ctrl.enqueue(encoder.encode(next.value.text));
        }
      },
      async cancel() {
        await parts.return?.();
      },
    });
    return new Response(body, { headers: { 'content-type': 'text/plain; charset=utf-8' } });
  });

  return { app, gate };
}

const ZERO = { inputTokens: 0, outputTokens: 0, totalTokens: 0, cachedInputTokens: 0, reasoningTokens: 0, estimated: true };
