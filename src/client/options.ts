// createClient's options: one zod schema, checked once; a bad option throws a TypeError that names it
// and never echoes its value (one of them is the API key).
import type { Dispatcher } from 'undici';
import { z } from 'zod';
import { describeIssues } from '../shared/describe-issues';
import { OptionsError } from '../shared/errors';

// setTimeout and AbortSignal.timeout turn anything longer into 1 ms, with only a warning.
const MAX_TIMER_MS = 2_147_483_647;
const ms = z.number().int().nonnegative().max(MAX_TIMER_MS);

export const clientOptionsSchema = z
  .object({
    // It becomes a header value: a space, control or non-ASCII character would make undici refuse
    // every request (and, before this check, each refusal was retried as a connection error).
    apiKey: z
      .string()
      .min(1, 'is required')
      .regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces (it is sent as a header value)'),
    baseUrl: z.url({ protocol: /^https?$/ }).default('https://app.ecom9.com/api/'),
    authScheme: z.enum(['bearer', 'x-api-key']).default('bearer'),
    timeoutMs: ms.positive().default(5_000),
    maxRetries: z.number().int().min(0).max(10).default(2),
    retryBaseMs: ms.default(500),
    retryMaxMs: ms.default(8_000),
    connections: z.number().int().positive().default(64),
    dispatcher: z
      .custom<Dispatcher>((v) => typeof v === 'object' && v !== null && typeof (v as { request?: unknown }).request === 'function', {
        message: 'expected an undici Dispatcher',
      })
      .optional(),
    sleep: z.custom<(ms: number, signal?: AbortSignal) => Promise<void>>((v) => typeof v === 'function', { message: 'expected a function' }).optional(),
  })
  .strict();

export type ParsedClientOptions = z.output<typeof clientOptionsSchema>;

export function parseClientOptions(input: unknown): ParsedClientOptions {
  if (typeof input !== 'object' || input === null) throw new OptionsError('ecom9-gate: createClient(options) expects an options object with "apiKey"');
  const result = clientOptionsSchema.safeParse(input);
  if (result.success) return result.data;
  throw new OptionsError(`ecom9-gate: createClient: invalid options: ${describeIssues(result.error.issues)}`);
}
