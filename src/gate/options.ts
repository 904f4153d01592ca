// createGate's options: one zod schema, checked once when the gate is made. A wrong or unknown
// option throws a TypeError that names it; defaults live here and nowhere else.
import { z } from 'zod';
import { describeIssues } from '../describe-issues';

const fn = z.custom<(...args: never[]) => unknown>((v) => typeof v === 'function', { message: 'expected a function' });
const positiveMs = z.number().int().nonnegative();

const cacheSchema = z
  .object({
    ttlMs: positiveMs.default(60_000),
    denyTtlMs: positiveMs.default(10_000),
    staleIfErrorMs: positiveMs.default(300_000),
    max: z.number().int().positive().default(10_000),
  })
  .strict();

const httpSchema = z
  .object({
    timeoutMs: z.number().int().positive().default(5_000),
    maxRetries: z.number().int().min(0).max(10).default(2),
    retryBaseMs: z.number().int().nonnegative().default(500),
    retryMaxMs: z.number().int().nonnegative().default(8_000),
    connections: z.number().int().positive().default(64),
  })
  .strict();

const usageSchema = z
  .object({
    spoolPath: z.string().min(1).optional(),
    aggregateMs: positiveMs.default(1_000),
    maxQueue: z.number().int().positive().default(10_000),
    concurrency: z.number().int().positive().max(256).default(4),
    maxAttempts: z.number().int().positive().default(8),
    retryBaseMs: z.number().int().nonnegative().default(500),
    retryMaxMs: z.number().int().nonnegative().default(30_000),
  })
  .strict();

const webhookSchema = z
  .object({
    toleranceSeconds: z.number().int().positive().default(300),
    dedupeMax: z.number().int().positive().default(10_000),
    dedupeTtlMs: positiveMs.default(24 * 60 * 60_000),
    verify: fn.optional(),
  })
  .strict();

export const gateOptionsSchema = z
  .object({
    apiKey: z.string().min(1, 'is required (or set ECOM9_API_KEY)'),
    baseUrl: z.url({ protocol: /^https?$/ }).default('https://app.ecom9.com/api/'),
    authScheme: z.enum(['bearer', 'x-api-key']).default('bearer'),
    webhookSecret: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]).optional(),
    failMode: z.enum(['closed', 'open']).default('closed'),
    tierOrder: z.array(z.string().min(1)).min(1).optional(),
    cache: cacheSchema.default(cacheSchema.parse({})),
    http: httpSchema.default(httpSchema.parse({})),
    usage: usageSchema.default(usageSchema.parse({})),
    webhooks: webhookSchema.default(webhookSchema.parse({})),
    bus: z.custom<object>((v) => typeof v === 'object' && v !== null, { message: 'expected an invalidation bus' }).optional(),
    store: z.custom<object>((v) => typeof v === 'object' && v !== null, { message: 'expected a fact store' }).optional(),
    onError: fn.optional(),
    logger: z
      .custom<object>((v) => typeof v === 'object' && v !== null && typeof (v as { warn?: unknown }).warn === 'function', {
        message: 'expected an object with a warn() method',
      })
      .optional(),
    now: fn.optional(),
  })
  .strict();

export type ParsedGateOptions = z.output<typeof gateOptionsSchema>;

/** Validates options, filling in the environment defaults; throws a TypeError naming the bad option. */
export function parseGateOptions(input: unknown, env: NodeJS.ProcessEnv = process.env): ParsedGateOptions {
  if (input !== undefined && (typeof input !== 'object' || input === null)) {
    throw new TypeError('ecom9-gate: createGate(options) expects an options object');
  }
  const raw = { ...(input as Record<string, unknown> | undefined) };
  if (raw.apiKey === undefined && env.ECOM9_API_KEY) raw.apiKey = env.ECOM9_API_KEY;
  if (raw.baseUrl === undefined && env.ECOM9_BASE_URL) raw.baseUrl = env.ECOM9_BASE_URL;
  if (raw.webhookSecret === undefined && env.ECOM9_WEBHOOK_SECRET) raw.webhookSecret = env.ECOM9_WEBHOOK_SECRET;
  if (raw.apiKey === undefined) raw.apiKey = '';
  const result = gateOptionsSchema.safeParse(raw);
  if (result.success) return result.data;
  throw new TypeError(`ecom9-gate: invalid options: ${describeIssues(result.error.issues)}`);
}
