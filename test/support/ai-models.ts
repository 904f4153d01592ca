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

/** A stream the test writes: `push` parts, then `close` or `fail`. */
export function feed() {
  let ctrl!: ReadableStreamDefaultController<StreamPart>;
  const stream = new ReadableStream<StreamPart>({ start: (c) => void (ctrl = c) });
  return {
    stream,
    push: (...parts: StreamPart[]) => {
      for (const p of parts) ctrl.enqueue(p);
    },
    close: () => ctrl.close(),
    fail: (err: unknown) => ctrl.error(err),
  };
}

/** A stream model whose every call gets the next feed from `feeds` (or one made on the spot). */
export function streamModel(next: () => ReturnType<typeof feed>): MockLanguageModelV4 {
  return new MockLanguageModelV4({
    doStream: async () => {
      const f = next();
      f.push({ type: 'stream-start', warnings: [] }, { type: 'text-start', id: 't1' });
      return { stream: f.stream } as never;
    },
  });
}
