// The model the AI example streams from: the Vercel AI Gateway when AI_GATEWAY_API_KEY is set, else
// a local stand-in built on the AI SDK's mock model that streams a canned answer word by word and
// reports its usage at the end, as a provider does.
import { gateway, simulateReadableStream, type wrapLanguageModel } from 'ai';
import { MockLanguageModelV4 } from 'ai/test';

const ANSWER =
  'Prepaid credits are held before the model runs and settled once for what it used. ' +
  'A stream cut short is charged for the words that reached you, never more than the reserve.';

/** A model `wrapLanguageModel` takes (not a model id string). */
export type BaseModel = Parameters<typeof wrapLanguageModel>[0]['model'];

/** A model that needs no key: the answer in word-sized deltas, `delayMs` apart. */
export function standInModel(delayMs = 30): BaseModel {
  return new MockLanguageModelV4({
    doStream: async ({ prompt }) => {
      const words = ANSWER.split(/(?<= )/);
      const input = Math.ceil(JSON.stringify(prompt).length / 4);
      const output = Math.ceil(ANSWER.length / 4);
      return {
        stream: simulateReadableStream({
          chunkDelayInMs: delayMs,
          chunks: [
            { type: 'stream-start', warnings: [] },
            { type: 'text-start', id: 'a' },
            ...words.map((w) => ({ type: 'text-delta' as const, id: 'a', delta: w })),
            { type: 'text-end', id: 'a' },
            {
              type: 'finish',
              finishReason: { unified: 'stop', raw: 'stop' },
              usage: {
                inputTokens: { total: input, noCache: input, cacheRead: 0, cacheWrite: 0 },
                outputTokens: { total: output, text: output, reasoning: 0 },
              },
            },
          ],
        }),
      };
    },
  });
}

export function exampleModel(): BaseModel {
  return process.env.AI_GATEWAY_API_KEY ? gateway('openai/gpt-5-mini') : standInModel();
}
