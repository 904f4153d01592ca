// createClient's options: one zod schema, checked once; a bad option throws a TypeError that names it
// and never echoes its value (one of them is the API key). The types users write are the interfaces of
// client-options.ts, checked below against the schema; the defaults come from OPTION_DEFAULTS, and
// createGate reuses these rules for its own `http` options.
import type { Dispatcher } from 'undici';
import { z } from 'zod';
import { OPTION_DEFAULTS } from '../shared/defaults';
import { describeIssues } from '../shared/describe-issues';
import { OptionsError } from '../shared/errors';
import type { Expect, SameShape } from '../shared/same-shape';
import type { ClientOptions, HttpOptions } from './client-options';

const D = OPTION_DEFAULTS;
// setTimeout and AbortSignal.timeout turn anything longer into 1 ms, with only a warning.
const MAX_TIMER_MS = 2_147_483_647;
const ms = z.number().int().nonnegative().max(MAX_TIMER_MS);

/** The API key's rule; `required` is what a missing key is told (createGate also names ECOM9_API_KEY). */
export const apiKeySchema = (required: string) =>
  z
    .string()
    .min(1, required)
    // It becomes a header value: a space, control or non-ASCII character would make undici refuse
    // every request (and, before this check, each refusal was retried as a connection error).
    .regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces (it is sent as a header value)');

/** Where and how to reach ecom9: the same for createClient and createGate. */
export const connectionShape = {
  baseUrl: z.url({ protocol: /^https?$/ }).default(D.baseUrl),
  authScheme: z.enum(['bearer', 'x-api-key']).default(D.authScheme),
};

/** Timeouts, retries and the pool: createClient's own options, and createGate's `http`. */
export const httpShape = {
  timeoutMs: ms.positive().default(D.http.timeoutMs),
  maxRetries: z.number().int().min(0).max(10).default(D.http.maxRetries),
  retryBaseMs: ms.default(D.http.retryBaseMs),
  retryMaxMs: ms.default(D.http.retryMaxMs),
  connections: z.number().int().positive().default(D.http.connections),
  transport: z.enum(['undici', 'fetch']).optional(),
};

/** createClient's timeouts and retries, alone: createGate's `http` option. */
export const httpSchema: z.ZodObject<typeof httpShape, z.core.$strict> = z.object(httpShape).strict();

const clientShape = {
  apiKey: apiKeySchema('is required'),
  ...connectionShape,
  ...httpShape,
  dispatcher: z
    .custom<Dispatcher>((v) => typeof v === 'object' && v !== null && typeof (v as { request?: unknown }).request === 'function', {
      message: 'expected an undici Dispatcher',
    })
    .optional(),
  sleep: z.custom<(ms: number, signal?: AbortSignal) => Promise<void>>((v) => typeof v === 'function', { message: 'expected a function' }).optional(),
};

export const clientOptionsSchema: z.ZodObject<typeof clientShape, z.core.$strict> = z.object(clientShape).strict();

// The published interfaces and the schema accept the same options: a field added to one and not the
// other fails to compile.
type _ClientOptionsMatch = Expect<SameShape<ClientOptions, z.input<typeof clientOptionsSchema>>>;
type _HttpOptionsMatch = Expect<SameShape<HttpOptions, z.input<typeof httpSchema>>>;

export type ParsedClientOptions = z.output<typeof clientOptionsSchema>;

export function parseClientOptions(input: unknown): ParsedClientOptions {
  if (typeof input !== 'object' || input === null) throw new OptionsError('ecom9-gate: createClient(options) expects an options object with "apiKey"');
  const result = clientOptionsSchema.safeParse(input);
  if (result.success) return result.data;
  throw new OptionsError(`ecom9-gate: createClient: invalid options: ${describeIssues(result.error.issues, clientOptionsSchema)}`);
}
