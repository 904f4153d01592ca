// Models for the AI middleware's tests, built on the AI SDK's own mocks (`ai/test`): usage in the
// provider's v4 shape, and a stream the test feeds part by part, so "the caller got 3 deltas" is a
// fact of the test rather than of timing.
import { MockLanguageModelV4 } from 'ai/test';

type StreamPart = Record<string, unknown> & { type: string };

/** v4 usage (nested totals), as providers report it through the AI SDK. */
export const v4Usage = (input: number, output: number) => ({
  inputTokens: { total: input, noCache: input, cacheRead: 0, cacheWrite: 0 },
  outputTokens: { total: output, text: output, reasoning: 0 },
});

export const finishPart = (usage: unknown = v4Usage(0, 0)): StreamPart => ({ type: 'finish', finishReason: { unified: 'stop', raw: 'stop' }, usage });
export const delta = (text: string, id = 't1'): StreamPart => ({ type: 'text-delta', id, delta: text });

/** A generate model answering `text` with `usage` (v4 shape unless given otherwise). */
export function generateModel(text: string, usage: unknown): MockLanguageModelV4 {
  return new MockLanguageModelV4({
    doGenerate: async () => ({ content: [{ type: 'text', text }], finishReason: { unified: 'stop', raw: 'stop' }, usage, warnings: [] }) as never,
  });
}

/** A stream the test writes (it opens with stream-start and text-start): `push` parts, then `close` or `fail`. */
export function feed() {
  let ctrl!: ReadableStreamDefaultController<StreamPart>;
  const stream = new ReadableStream<StreamPart>({
    start(c) {
      ctrl = c;
      c.enqueue({ type: 'stream-start', warnings: [] });
      c.enqueue({ type: 'text-start', id: 't1' });
    },
  });
  return {
    stream,
    push: (...parts: StreamPart[]) => {
      for (const p of parts) ctrl.enqueue(p);
    },
    close: () => ctrl.close(),
    fail: (err: unknown) => ctrl.error(err),
  };
}

/** A stream model whose every call streams the feed `next()` gives. */
export function streamModel(next: () => ReturnType<typeof feed>): MockLanguageModelV4 {
  return new MockLanguageModelV4({ doStream: async () => ({ stream: next().stream }) as never });
}

/** A generate model that waits for `until` before answering, counting the calls that reached it. */
export function waitingModel(until: Promise<void>, usage: unknown) {
  const reached: unknown[] = [];
  const model = new MockLanguageModelV4({
    doGenerate: async (o) => {
      reached.push(o);
      await until;
      return { content: [{ type: 'text', text: 'done' }], finishReason: { unified: 'stop', raw: 'stop' }, usage, warnings: [] } as never;
    },
  });
  return { model, reached };
}
