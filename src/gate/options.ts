// createGate's options: one zod schema, checked once when the gate is made. A wrong or unknown
// option throws a TypeError that names it; the types users write are the interfaces of
// gate-options.ts (documented there), checked below against the schema; the defaults come from
// OPTION_DEFAULTS, and `http` reuses the client's rules.
import { z } from 'zod';
import { apiKeySchema, connectionShape, httpSchema } from '../client/options';
import { OPTION_DEFAULTS } from '../shared/defaults';
import { describeIssues } from '../shared/describe-issues';
import { OptionsError } from '../shared/errors';
import { runtimeEnv } from '../shared/runtime';
import type { WebhookVerifier } from '../webhooks/handler';
import type { FactStore, InvalidationBus, Logger } from './public-options';
import type { Expect, SameShape } from '../shared/same-shape';
import type {
  GateCacheOptions,
  GateCreditsOptions,
  GateHealthOptions,
  GateIdempotencyOptions,
  GateOptions,
  GateUsageOptions,
  GateWebhookOptions,
} from './gate-options';

const D = OPTION_DEFAULTS;
const fn = <T extends (...args: never[]) => unknown>() => z.custom<T>((v) => typeof v === 'function', { message: 'expected a function' });
const positiveMs = z.number().int().nonnegative();

const cacheShape = {
  ttlMs: positiveMs.default(D.cache.ttlMs),
  denyTtlMs: positiveMs.default(D.cache.denyTtlMs),
  staleIfErrorMs: positiveMs.default(D.cache.staleIfErrorMs),
  max: z.number().int().positive().default(D.cache.max),
  refreshAheadMs: positiveMs.optional(),
};
const cacheSchema: z.ZodObject<typeof cacheShape, z.core.$strict> = z.object(cacheShape).strict();

const usageShape = {
  spoolPath: z.string().min(1).optional(),
  aggregateMs: positiveMs.default(D.usage.aggregateMs),
  maxQueue: z.number().int().positive().default(D.usage.maxQueue),
  concurrency: z.number().int().positive().max(256).default(D.usage.concurrency),
  maxAttempts: z.number().int().positive().default(D.usage.maxAttempts),
  retryBaseMs: z.number().int().nonnegative().default(D.usage.retryBaseMs),
  retryMaxMs: z.number().int().nonnegative().default(D.usage.retryMaxMs),
};
const usageSchema: z.ZodObject<typeof usageShape, z.core.$strict> = z.object(usageShape).strict();

const webhookShape = {
  toleranceSeconds: z.number().int().positive().default(D.webhooks.toleranceSeconds),
  dedupeMax: z.number().int().positive().default(D.webhooks.dedupeMax),
  dedupeTtlMs: positiveMs.default(D.webhooks.dedupeTtlMs),
  secretFormat: z.enum(['whsec', 'raw']).default(D.webhooks.secretFormat),
  bodyTimeoutMs: z.number().int().positive().max(300_000).default(D.webhooks.bodyTimeoutMs),
  verify: fn<WebhookVerifier>().optional(),
};
const webhookSchema: z.ZodObject<typeof webhookShape, z.core.$strict> = z.object(webhookShape).strict();

const idempotencyShape = {
  ttlMs: z.number().int().positive().default(D.idempotency.ttlMs),
  maxBodyBytes: z
    .number()
    .int()
    .nonnegative()
    .max(16 * 1024 * 1024)
    .default(D.idempotency.maxBodyBytes),
  max: z.number().int().positive().default(D.idempotency.max),
  maxMemoryBytes: z.number().int().positive().default(D.idempotency.maxMemoryBytes),
};
const idempotencySchema: z.ZodObject<typeof idempotencyShape, z.core.$strict> = z.object(idempotencyShape).strict();

const healthShape = {
  windowMs: positiveMs.default(D.health.windowMs),
};
const healthSchema: z.ZodObject<typeof healthShape, z.core.$strict> = z.object(healthShape).strict();

const creditsShape = {
  holdTtlMs: z.number().int().positive().default(D.credits.holdTtlMs),
  balanceTtlMs: positiveMs.default(D.credits.balanceTtlMs),
};
const creditsSchema: z.ZodObject<typeof creditsShape, z.core.$strict> = z.object(creditsShape).strict();

const gateShape = {
  apiKey: apiKeySchema('is required (or set ECOM9_API_KEY)'),
  baseUrl: connectionShape.baseUrl,
  authScheme: connectionShape.authScheme,
  webhookSecret: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]).optional(),
  failMode: z.enum(['closed', 'open']).default(D.failMode),
  tierOrder: z.array(z.string().min(1)).min(1).optional(),
  cache: cacheSchema.default(cacheSchema.parse({})),
  http: httpSchema.default(httpSchema.parse({})) as z.ZodDefault<typeof httpSchema>,
  usage: usageSchema.default(usageSchema.parse({})),
  webhooks: webhookSchema.default(webhookSchema.parse({})),
  health: healthSchema.default(healthSchema.parse({})),
  credits: creditsSchema.default(creditsSchema.parse({})),
  idempotency: idempotencySchema.default(idempotencySchema.parse({})),
  bus: z.custom<InvalidationBus>((v) => typeof v === 'object' && v !== null, { message: 'expected an invalidation bus' }).optional(),
  store: z
    .custom<FactStore>((v) => typeof v === 'object' && v !== null && typeof (v as { load?: unknown }).load === 'function', { message: 'expected a fact store' })
    .optional(),
  onError: fn<(err: unknown) => void>().optional(),
  logger: z
    .custom<Logger>((v) => typeof v === 'object' && v !== null && typeof (v as { warn?: unknown }).warn === 'function', {
      message: 'expected an object with a warn() method',
    })
    .optional(),
  now: fn<() => number>().optional(),
};
export const gateOptionsSchema: z.ZodObject<typeof gateShape, z.core.$strict> = z.object(gateShape).strict();

// The published interfaces and the schema accept the same options: a field added to one and not the
// other fails to compile. apiKey alone differs: createGate takes it from the environment when absent.
type GateInput = z.input<typeof gateOptionsSchema>;
type _GateOptionsMatch = Expect<SameShape<GateOptions, Omit<GateInput, 'apiKey'> & { apiKey?: string | undefined }>>;
type _CacheMatch = Expect<SameShape<GateCacheOptions, z.input<typeof cacheSchema>>>;
type _UsageMatch = Expect<SameShape<GateUsageOptions, z.input<typeof usageSchema>>>;
type _WebhooksMatch = Expect<SameShape<GateWebhookOptions, z.input<typeof webhookSchema>>>;
type _IdempotencyMatch = Expect<SameShape<GateIdempotencyOptions, z.input<typeof idempotencySchema>>>;
type _HealthMatch = Expect<SameShape<GateHealthOptions, z.input<typeof healthSchema>>>;
type _CreditsMatch = Expect<SameShape<GateCreditsOptions, z.input<typeof creditsSchema>>>;

export type ParsedGateOptions = z.output<typeof gateOptionsSchema>;

/** Validates options, filling in the environment defaults; throws a TypeError naming the bad option. */
export function parseGateOptions(input: unknown, env: Record<string, string | undefined> = runtimeEnv()): ParsedGateOptions {
  if (input !== undefined && (typeof input !== 'object' || input === null)) {
    throw new OptionsError('ecom9-gate: createGate(options) expects an options object');
  }
  const raw = { ...(input as Record<string, unknown> | undefined) };
  if (raw.apiKey === undefined && env.ECOM9_API_KEY) raw.apiKey = env.ECOM9_API_KEY;
  if (raw.baseUrl === undefined && env.ECOM9_BASE_URL) raw.baseUrl = env.ECOM9_BASE_URL;
  if (raw.webhookSecret === undefined && env.ECOM9_WEBHOOK_SECRET) raw.webhookSecret = env.ECOM9_WEBHOOK_SECRET;
  if (raw.apiKey === undefined) raw.apiKey = '';
  const result = gateOptionsSchema.safeParse(raw);
  if (result.success) {
    const { ttlMs, refreshAheadMs } = result.data.cache;
    if (refreshAheadMs !== undefined && refreshAheadMs > 0 && refreshAheadMs >= ttlMs) {
      throw new OptionsError(`ecom9-gate: createGate: invalid options: cache.refreshAheadMs must be below cache.ttlMs (${ttlMs}), or 0 to turn refreshing off`);
    }
    checkSecretForm(result.data.webhookSecret, result.data.webhooks.secretFormat);
    return result.data;
  }
  throw new OptionsError(`ecom9-gate: createGate: invalid options: ${describeIssues(result.error.issues, gateOptionsSchema)}`);
}

// `whsec_` and canonical base64 (padding optional): Node's decoder skips characters it does not know,
// so a secret copied wrongly would otherwise become some other key and refuse every delivery.
const WHSEC = /^whsec_(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}(?:==)?|[A-Za-z0-9+/]{3}=?)?$/;

/** Each `whsec` secret has its form, or an OptionsError names which one (never what it holds). */
function checkSecretForm(secret: string | readonly string[] | undefined, format: 'whsec' | 'raw'): void {
  if (secret === undefined || format === 'raw') return;
  const list = typeof secret === 'string' ? [secret] : secret;
  list.forEach((s, i) => {
    if (WHSEC.test(s) && s.length > 'whsec_'.length) return;
    const where = typeof secret === 'string' ? 'webhookSecret' : `webhookSecret.${i}`;
    const why = s.startsWith('whsec_') ? 'is not "whsec_" followed by base64' : 'does not start with "whsec_"';
    throw new OptionsError(
      `ecom9-gate: createGate: invalid options: "${where}" ${why} (copy it as ecom9 shows it, or set webhooks.secretFormat: 'raw' to use the string's own bytes as the key)`,
    );
  });
}
