// createGate's options: one zod schema, checked once when the gate is made. A wrong or unknown
// option throws a TypeError that names it; the types users write (GateOptions) are derived from the
// schema, the defaults come from OPTION_DEFAULTS, and `http` reuses the client's rules. Each shape is
// its own const and each schema is annotated with `typeof` it (`http` as the client's schema), so the
// JSDoc reaches the published .d.ts, which drops it from inferred types.
import { z } from 'zod';
import { apiKeySchema, connectionShape, httpSchema } from '../client/options';
import { OPTION_DEFAULTS } from '../shared/defaults';
import { describeIssues } from '../shared/describe-issues';
import { OptionsError } from '../shared/errors';
import type { WebhookVerifier } from '../webhooks/handler';
import type { FactStore, InvalidationBus, Logger } from './public-options';

const D = OPTION_DEFAULTS;
const fn = <T extends (...args: never[]) => unknown>() => z.custom<T>((v) => typeof v === 'function', { message: 'expected a function' });
const positiveMs = z.number().int().nonnegative();

const cacheShape = {
  /** How long a fact that grants access is fresh, in ms. @default {@link OPTION_DEFAULTS}.cache.ttlMs */
  ttlMs: positiveMs.default(D.cache.ttlMs),
  /** How long a fact that denies (no active subscription, unknown account, no entitlement) is fresh, in ms. @default {@link OPTION_DEFAULTS}.cache.denyTtlMs */
  denyTtlMs: positiveMs.default(D.cache.denyTtlMs),
  /** When ecom9 fails, the oldest fact still served (`source: 'stale'`), in ms from when it was fetched. @default {@link OPTION_DEFAULTS}.cache.staleIfErrorMs */
  staleIfErrorMs: positiveMs.default(D.cache.staleIfErrorMs),
  /** Most entries kept (LRU). @default {@link OPTION_DEFAULTS}.cache.max */
  max: z.number().int().positive().default(D.cache.max),
};
const cacheSchema: z.ZodObject<typeof cacheShape, z.core.$strict> = z.object(cacheShape).strict();

const usageShape = {
  /** A JSON-lines journal: usage queued when the process dies is sent on the next start. */
  spoolPath: z.string().min(1).optional(),
  /**
   * Events without an eventKey (and without metadata) are summed per account, product and meter over
   * this window (ms) and sent as one event; keyed events are always sent on their own. 0 sends every
   * event on its own. @default {@link OPTION_DEFAULTS}.usage.aggregateMs
   */
  aggregateMs: positiveMs.default(D.usage.aggregateMs),
  /** Events held at most; more are dropped, reported and counted. @default {@link OPTION_DEFAULTS}.usage.maxQueue */
  maxQueue: z.number().int().positive().default(D.usage.maxQueue),
  /** Events in flight at once. @default {@link OPTION_DEFAULTS}.usage.concurrency */
  concurrency: z.number().int().positive().max(256).default(D.usage.concurrency),
  /** Attempts per event before it is given up on (reported and counted). @default {@link OPTION_DEFAULTS}.usage.maxAttempts */
  maxAttempts: z.number().int().positive().default(D.usage.maxAttempts),
  /** The first backoff's cap, in ms. @default {@link OPTION_DEFAULTS}.usage.retryBaseMs */
  retryBaseMs: z.number().int().nonnegative().default(D.usage.retryBaseMs),
  /** The largest backoff, in ms. @default {@link OPTION_DEFAULTS}.usage.retryMaxMs */
  retryMaxMs: z.number().int().nonnegative().default(D.usage.retryMaxMs),
};
const usageSchema: z.ZodObject<typeof usageShape, z.core.$strict> = z.object(usageShape).strict();

const webhookShape = {
  /** Seconds a webhook timestamp may be off, either way. @default {@link OPTION_DEFAULTS}.webhooks.toleranceSeconds */
  toleranceSeconds: z.number().int().positive().default(D.webhooks.toleranceSeconds),
  /** Transaction ids remembered for replay protection. @default {@link OPTION_DEFAULTS}.webhooks.dedupeMax */
  dedupeMax: z.number().int().positive().default(D.webhooks.dedupeMax),
  /** How long a transaction id is remembered, in ms. @default {@link OPTION_DEFAULTS}.webhooks.dedupeTtlMs */
  dedupeTtlMs: positiveMs.default(D.webhooks.dedupeTtlMs),
  /** Replaces Standard Webhooks verification with your own. */
  verify: fn<WebhookVerifier>().optional(),
};
const webhookSchema: z.ZodObject<typeof webhookShape, z.core.$strict> = z.object(webhookShape).strict();

const healthShape = {
  /** How long a failure counts as recent for `gate.health()` (ecom9 failing, usage spooled, bus errors), in ms. @default {@link OPTION_DEFAULTS}.health.windowMs */
  windowMs: positiveMs.default(D.health.windowMs),
};
const healthSchema: z.ZodObject<typeof healthShape, z.core.$strict> = z.object(healthShape).strict();

const creditsShape = {
  /** A hold never settled is closed after this long (what it used is charged, the rest given back), in ms. @default {@link OPTION_DEFAULTS}.credits.holdTtlMs */
  holdTtlMs: z.number().int().positive().default(D.credits.holdTtlMs),
  /**
   * How long the balance a hold is judged against is trusted before ecom9 is asked again, in ms
   * (each debit corrects it meanwhile; docs/credits.md says how far it can drift). @default {@link OPTION_DEFAULTS}.credits.balanceTtlMs
   */
  balanceTtlMs: positiveMs.default(D.credits.balanceTtlMs),
};
const creditsSchema: z.ZodObject<typeof creditsShape, z.core.$strict> = z.object(creditsShape).strict();

const gateShape = {
  /** Your ecom9 Payment Gateway API key. @default process.env.ECOM9_API_KEY */
  apiKey: apiKeySchema('is required (or set ECOM9_API_KEY)'),
  /** ecom9's API root; ECOM9_BASE_URL overrides the default. @default {@link OPTION_DEFAULTS}.baseUrl */
  baseUrl: connectionShape.baseUrl,
  /** How the key is sent: `Authorization: Bearer` or `X-API-Key`. @default {@link OPTION_DEFAULTS}.authScheme */
  authScheme: connectionShape.authScheme,
  /** `whsec_...` secret(s) for webhook signatures; several during a rotation. @default process.env.ECOM9_WEBHOOK_SECRET */
  webhookSecret: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]).optional(),
  /** When ecom9 is unreachable and nothing young enough is cached: deny with 503, or allow. @default {@link OPTION_DEFAULTS}.failMode */
  failMode: z.enum(['closed', 'open']).default(D.failMode),
  /** Tiers from lowest to highest, for `atLeast` checks. @example ['starter', 'pro', 'enterprise'] */
  tierOrder: z.array(z.string().min(1)).min(1).optional(),
  cache: cacheSchema.default(cacheSchema.parse({})),
  /** Timeouts, retries and the pool of the gate's client: createClient's rules and defaults. */
  http: httpSchema.default(httpSchema.parse({})) as z.ZodDefault<typeof httpSchema>,
  usage: usageSchema.default(usageSchema.parse({})),
  webhooks: webhookSchema.default(webhookSchema.parse({})),
  health: healthSchema.default(healthSchema.parse({})),
  /** Holds (`reserveCredits`): how long one lives, how long a balance is trusted. */
  credits: creditsSchema.default(creditsSchema.parse({})),
  /** Carries invalidations (and webhook dedupe) to other instances: `redisBus(...)` from `ecom9-gate/redis`. */
  bus: z.custom<InvalidationBus>((v) => typeof v === 'object' && v !== null, { message: 'expected an invalidation bus' }).optional(),
  /** A cache shared by every instance, behind each one's own: `redisStore(...)` from `ecom9-gate/redis`. */
  store: z
    .custom<FactStore>((v) => typeof v === 'object' && v !== null && typeof (v as { load?: unknown }).load === 'function', { message: 'expected a fact store' })
    .optional(),
  /** What could not be done in the background (usage given up on, a misconfigured product, a failed handler). @default logger.warn */
  onError: fn<(err: unknown) => void>().optional(),
  /** @default console */
  logger: z
    .custom<Logger>((v) => typeof v === 'object' && v !== null && typeof (v as { warn?: unknown }).warn === 'function', {
      message: 'expected an object with a warn() method',
    })
    .optional(),
  /** Clock in ms, for tests. Must not start at 0. @default Date.now */
  now: fn<() => number>().optional(),
};
export const gateOptionsSchema: z.ZodObject<typeof gateShape, z.core.$strict> = z.object(gateShape).strict();

type GateInput = z.input<typeof gateOptionsSchema>;

/** createGate's options, as written; every one may be left out (apiKey then comes from ECOM9_API_KEY). */
export interface GateOptions extends Omit<GateInput, 'apiKey'> {
  /** Your ecom9 Payment Gateway API key. @default process.env.ECOM9_API_KEY */
  apiKey?: string;
}

export type ParsedGateOptions = z.output<typeof gateOptionsSchema>;

/** Validates options, filling in the environment defaults; throws a TypeError naming the bad option. */
export function parseGateOptions(input: unknown, env: NodeJS.ProcessEnv = process.env): ParsedGateOptions {
  if (input !== undefined && (typeof input !== 'object' || input === null)) {
    throw new OptionsError('ecom9-gate: createGate(options) expects an options object');
  }
  const raw = { ...(input as Record<string, unknown> | undefined) };
  if (raw.apiKey === undefined && env.ECOM9_API_KEY) raw.apiKey = env.ECOM9_API_KEY;
  if (raw.baseUrl === undefined && env.ECOM9_BASE_URL) raw.baseUrl = env.ECOM9_BASE_URL;
  if (raw.webhookSecret === undefined && env.ECOM9_WEBHOOK_SECRET) raw.webhookSecret = env.ECOM9_WEBHOOK_SECRET;
  if (raw.apiKey === undefined) raw.apiKey = '';
  const result = gateOptionsSchema.safeParse(raw);
  if (result.success) return result.data;
  throw new OptionsError(`ecom9-gate: createGate: invalid options: ${describeIssues(result.error.issues)}`);
}
