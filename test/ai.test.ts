// ecom9-gate/ai with the AI SDK's own mock models and the emulator as ecom9: each call is held
// before the model runs and debited once for what it used, whichever way it ends.
import { generateText, streamText, wrapLanguageModel } from 'ai';
import { creditsMiddleware, InsufficientCreditsError, type AiSettlement, type CreditsMiddlewareOptions } from 'ecom9-gate/ai';
import { createTestGate, type TestGate } from 'ecom9-gate/testing';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { delta, feed, finishPart, generateModel, streamModel, v4Usage, waitingModel } from './support/ai-models';

const P = 'ai-images';
const M = 'credits';
// 1 credit a started 1,000 input tokens, 1 a started 250 output tokens.
const price: CreditsMiddlewareOptions['price'] = ({ inputTokens, outputTokens }) => Math.ceil(inputTokens / 1000) + Math.ceil(outputTokens / 250);

let t: TestGate;
let settled: AiSettlement[];
beforeEach(async () => {
  t = await createTestGate();
  settled = [];
  await t.setCredits('acme', P, M, 1000);
});
afterEach(() => t.close());

/** The model wrapped in the middleware; `settledOnce` resolves with the next settlement. */
function gated(base: Parameters<typeof wrapLanguageModel>[0]['model'], opts: Partial<CreditsMiddlewareOptions> = {}) {
  let resolveNext: ((s: AiSettlement) => void) | undefined;
  const model = wrapLanguageModel({
    model: base,
    middleware: creditsMiddleware(t.gate, {
      accountRefId: 'acme',
      product: P,
      meter: M,
      price,
      reserve: 200,
      onSettled: (s) => {
        settled.push(s);
        resolveNext?.(s);
      },
      ...opts,
    }),
  });
  const next = () => new Promise<AiSettlement>((r) => (resolveNext = r));
  return { model, next };
}

const debits = () => t.emulator.ledger.filter((r) => r.approved && r.accountRefId === 'acme' && r.product === P);

describe('generate', () => {
  it('charges price(usage) once, after the model answered', async () => {
    const base = generateModel('hello', v4Usage(1200, 600));
    const { model } = gated(base);
    const r = await generateText({ model, prompt: 'hi', maxRetries: 0 });
    expect(r.text).toBe('hello');
    expect(debits().map((d) => d.quantity)).toEqual([2 + 3]);
    expect(t.credits('acme', P, M)).toBe(995);
    expect(settled).toMatchObject([{ charged: 5, outcome: 'finished', usage: { inputTokens: 1200, outputTokens: 600, totalTokens: 1800 } }]);
  });

  it('never charges more than the reserve', async () => {
    const { model } = gated(generateModel('long', v4Usage(0, 1_000_000)));
    await generateText({ model, prompt: 'hi', maxRetries: 0 });
    expect(debits().map((d) => d.quantity)).toEqual([200]);
    expect(settled).toMatchObject([{ charged: 200, reserved: 200 }]);
  });

  it('refuses a short balance with InsufficientCreditsError before the model is called, and charges nothing', async () => {
    await t.setCredits('acme', P, M, 150);
    const base = generateModel('never', v4Usage(1, 1));
    const { model } = gated(base, { topUpUrl: 'https://shop.example/top-up' });
    const err = await generateText({ model, prompt: 'hi', maxRetries: 0 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InsufficientCreditsError);
    expect(err).toMatchObject({ code: 'insufficient_credits', remainingBalance: 150, topUpUrl: 'https://shop.example/top-up', problem: { status: 402 } });
    expect(base.doGenerateCalls).toHaveLength(0);
    expect(debits()).toEqual([]);
    expect(t.credits('acme', P, M)).toBe(150);
  });

  it('gives the hold back when the model fails: no charge, and the reserve is free again', async () => {
    await t.setCredits('acme', P, M, 200);
    let fail = true;
    const base = generateModel('ok', v4Usage(10, 10));
    const answer = base.doGenerate;
    base.doGenerate = async (o) => {
      if (fail) throw new Error('provider down');
      return answer(o);
    };
    const { model } = gated(base);
    await expect(generateText({ model, prompt: 'hi', maxRetries: 0 })).rejects.toThrow('provider down');
    expect(settled).toMatchObject([{ charged: 0, outcome: 'failed' }]);
    fail = false;
    await generateText({ model, prompt: 'hi', maxRetries: 0 }); // the whole 200 could be held again
    expect(debits().map((d) => d.quantity)).toEqual([2]);
  });

  it('gives price plain numbers whatever the usage shape: v2 flat numbers, and 0 for what is unknown', async () => {
    const seen: unknown[] = [];
    const spy: CreditsMiddlewareOptions['price'] = (u) => (seen.push(u), 1);
    const flat = gated(generateModel('x', { inputTokens: 7, outputTokens: 9, totalTokens: 16, cachedInputTokens: 2 }), { price: spy });
    await generateText({ model: flat.model, prompt: 'hi', maxRetries: 0 });
    const flatSeen = seen.at(-1);
    const none = gated(generateModel('', { inputTokens: { total: undefined }, outputTokens: { total: undefined } }), { price: spy });
    await generateText({ model: none.model, prompt: '', maxRetries: 0 });
    // The last call of each is the settlement's (earlier ones price the text delivered so far).
    expect(flatSeen).toMatchObject({ inputTokens: 7, outputTokens: 9, totalTokens: 16, cachedInputTokens: 2, reasoningTokens: 0, estimated: false });
    expect(seen.at(-1)).toMatchObject({ inputTokens: 0, outputTokens: 0, totalTokens: 0, estimated: true });
  });
});

describe('options', () => {
  it('refuses an unknown or bad option when the middleware is made, naming it', () => {
    const ok = { accountRefId: 'acme', product: P, meter: M, price, reserve: 10 };
    expect(() => creditsMiddleware(t.gate, { ...ok, reserv: 10 } as never)).toThrow(/unknown option "reserv"/);
    expect(() => creditsMiddleware(t.gate, { ...ok, reserve: 0 })).toThrow(/"reserve" must be a positive integer/);
    expect(() => creditsMiddleware(t.gate, { ...ok, price: 3 } as never)).toThrow(/"price" must be a function/);
    expect(() => creditsMiddleware({} as never, ok)).toThrow(/"gate" must be a gate/);
  });
});

describe('stream', () => {
  it('charges at finish with the provider usage, once', async () => {
    const f = feed();
    const { model, next } = gated(streamModel(() => f));
    const r = streamText({ model, prompt: 'hi', maxRetries: 0 });
    f.push(delta('Hello, '), delta('world'), { type: 'text-end', id: 't1' }, finishPart(v4Usage(100, 500)));
    f.close();
    expect(await r.text).toBe('Hello, world');
    expect(await next()).toMatchObject({ charged: 1 + 2, outcome: 'finished' });
    expect(debits().map((d) => d.quantity)).toEqual([3]);
  });

  it('charges what was delivered when the caller aborts after some deltas: one debit, above 0, within the reserve', async () => {
    const f = feed();
    const { model, next } = gated(
      streamModel(() => f),
      { price: ({ outputTokens }) => outputTokens },
    );
    const ac = new AbortController();
    const r = streamText({ model, prompt: 'hi', maxRetries: 0, abortSignal: ac.signal });
    const chunk = 'x'.repeat(40); // 10 tokens at 4 characters a token
    f.push(delta(chunk));
    let got = 0;
    const settlement = next();
    try {
      for await (const _ of r.textStream) {
        if (++got === 3) ac.abort();
        else f.push(delta(chunk)); // the next delta only once this one reached the caller
      }
    } catch {
      // the abort
    }
    const s = await settlement;
    expect(s).toMatchObject({ outcome: 'aborted', charged: 30, usage: { outputTokens: 30, estimated: true } });
    expect(debits().map((d) => d.quantity)).toEqual([30]);
    await t.gate.flush();
    expect(debits()).toHaveLength(1);
  });

  it('keeps what a stream owes so far in its hold while it runs (what the journal keeps if the process dies)', async () => {
    const f = feed();
    const { model, next } = gated(
      streamModel(() => f),
      { price: ({ outputTokens }) => outputTokens },
    );
    const r = streamText({ model, prompt: 'hi', maxRetries: 0 });
    const reader = r.textStream.getReader();
    f.push(delta('z'.repeat(40)));
    await reader.read();
    expect(t.gate.openHolds('acme')).toMatchObject([{ reserved: 200, used: 10 }]); // 40 characters, 10 tokens
    f.push(delta('z'.repeat(40)));
    await reader.read();
    expect(t.gate.openHolds('acme')).toMatchObject([{ used: 20 }]);
    const settled = next();
    f.push(finishPart(v4Usage(3, 20)));
    f.close();
    await reader.read();
    expect(await settled).toMatchObject({ charged: 20, outcome: 'finished' });
    expect(t.gate.openHolds('acme')).toEqual([]);
  });

  it('charges what was delivered when the stream errors midway, and nothing when it errors before any text', async () => {
    const f = feed();
    const { model, next } = gated(
      streamModel(() => f),
      { price: ({ outputTokens }) => outputTokens },
    );
    const r = streamText({ model, prompt: 'hi', maxRetries: 0, onError: () => {} });
    const settlement = next();
    f.push(delta('y'.repeat(80)));
    await expect(
      (async () => {
        for await (const _ of r.textStream) f.fail(new Error('connection reset')); // once the delta reached the caller
      })(),
    ).rejects.toThrow('connection reset');
    expect(await settlement).toMatchObject({ outcome: 'failed', charged: 20 });

    const g = feed();
    const early = gated(streamModel(() => g));
    const r2 = streamText({ model: early.model, prompt: 'hi', maxRetries: 0, onError: () => {} });
    const none = early.next();
    g.fail(new Error('refused'));
    await r2.consumeStream();
    expect(await none).toMatchObject({ outcome: 'failed', charged: 0 });
    expect(debits().map((d) => d.quantity)).toEqual([20]);
  });

  it('lets at most 3 of 10 concurrent calls reach the model on a balance for 3 reserves', async () => {
    await t.setCredits('acme', P, M, 600);
    let open!: () => void;
    const { model: base, reached } = waitingModel(new Promise<void>((r) => (open = r)), v4Usage(10, 10));
    const { model } = gated(base);
    let refused = 0;
    const calls = Array.from({ length: 10 }, () =>
      generateText({ model, prompt: 'hi', maxRetries: 0 }).catch((e: unknown) => {
        if (e instanceof InsufficientCreditsError) refused++;
        else throw e;
      }),
    );
    // Every call that got a hold waits in the model until all ten have been decided.
    await vi.waitFor(() => expect(refused + reached.length).toBe(10));
    expect(reached.length).toBeLessThanOrEqual(3);
    expect(reached.length).toBeGreaterThan(0);
    open();
    await Promise.all(calls);
    expect(debits()).toHaveLength(reached.length);
    expect(t.credits('acme', P, M)).toBe(600 - 2 * reached.length);
  });
});
