// createGate's options as users write them: interfaces written out, so that the published types name
// neither zod nor the private schema (options.ts), which stays the runtime check and is checked there
// at compile time to accept exactly these. Optional fields take `undefined` as the schema does.
import type { HttpOptions } from '../client/client-options';
import type { OPTION_DEFAULTS } from '../shared/defaults';
import type { WebhookVerifier } from '../webhooks/handler';
import type { FactStore, InvalidationBus, Logger } from './public-options';

/** createGate's `cache`: how long facts are fresh, and how many are kept. */
export interface GateCacheOptions {
  /** How long a fact that grants access is fresh, in ms. @default {@link OPTION_DEFAULTS}.cache.ttlMs */
  ttlMs?: number | undefined;
  /** How long a fact that denies (no active subscription, unknown account, no entitlement) is fresh, in ms. @default {@link OPTION_DEFAULTS}.cache.denyTtlMs */
  denyTtlMs?: number | undefined;
  /** When ecom9 fails, the oldest fact still served (`source: 'stale'`), in ms from when it was fetched. @default {@link OPTION_DEFAULTS}.cache.staleIfErrorMs */
  staleIfErrorMs?: number | undefined;
  /** Most entries kept (LRU). @default {@link OPTION_DEFAULTS}.cache.max */
  max?: number | undefined;
  /**
   * A fact that grants access, read within this long (ms) of its expiry, is answered from the cache
   * and fetched again in the background, once; after an invalidation, the facts read within the last
   * TTL are fetched again in the background. 0 turns both off. Must be below `ttlMs`.
   * @default a tenth of `ttlMs`
   */
  refreshAheadMs?: number | undefined;
}

/** createGate's `usage`: how metered usage is queued, summed, sent and kept. */
export interface GateUsageOptions {
  /** A JSON-lines journal: usage queued when the process dies is sent on the next start. */
  spoolPath?: string | undefined;
  /**
   * Events without an eventKey (and without metadata) are summed per account, product and meter over
   * this window (ms) and sent as one event; keyed events are always sent on their own. 0 sends every
   * event on its own. @default {@link OPTION_DEFAULTS}.usage.aggregateMs
   */
  aggregateMs?: number | undefined;
  /** Events held at most; more are dropped, reported and counted. @default {@link OPTION_DEFAULTS}.usage.maxQueue */
  maxQueue?: number | undefined;
  /** Events in flight at once. @default {@link OPTION_DEFAULTS}.usage.concurrency */
  concurrency?: number | undefined;
  /** Attempts per event before it is given up on (reported and counted). @default {@link OPTION_DEFAULTS}.usage.maxAttempts */
  maxAttempts?: number | undefined;
  /** The first backoff's cap, in ms. @default {@link OPTION_DEFAULTS}.usage.retryBaseMs */
  retryBaseMs?: number | undefined;
  /** The largest backoff, in ms. @default {@link OPTION_DEFAULTS}.usage.retryMaxMs */
  retryMaxMs?: number | undefined;
}

/** createGate's `webhooks`: how deliveries are verified and deduplicated. */
export interface GateWebhookOptions {
  /** Seconds a webhook timestamp may be off, either way. @default {@link OPTION_DEFAULTS}.webhooks.toleranceSeconds */
  toleranceSeconds?: number | undefined;
  /** Transaction ids remembered for replay protection. @default {@link OPTION_DEFAULTS}.webhooks.dedupeMax */
  dedupeMax?: number | undefined;
  /** How long a transaction id is remembered, in ms. @default {@link OPTION_DEFAULTS}.webhooks.dedupeTtlMs */
  dedupeTtlMs?: number | undefined;
  /**
   * How `webhookSecret` is written: `'whsec'`, Standard Webhooks' `whsec_` followed by the base64 key
   * (checked at start-up), or `'raw'`, the string's own UTF-8 bytes are the HMAC key.
   * @default {@link OPTION_DEFAULTS}.webhooks.secretFormat
   */
  secretFormat?: 'whsec' | 'raw' | undefined;
  /**
   * The most a webhook body may take to arrive, in ms, from the request's start: a slower sender is
   * answered 408 and its connection closed (ecom9 sends 64 KiB at most, in one go). @default {@link OPTION_DEFAULTS}.webhooks.bodyTimeoutMs
   */
  bodyTimeoutMs?: number | undefined;
  /** Replaces Standard Webhooks verification with your own. */
  verify?: WebhookVerifier | undefined;
}

/** createGate's `idempotency`: how long Idempotency-Keys and their responses are kept, and how many. */
export interface GateIdempotencyOptions {
  /**
   * How long an Idempotency-Key is kept, with its request's fingerprint and the response to replay, in
   * ms. A client's retries come within minutes; a day also covers a job retried the next day, and is
   * what Stripe keeps. Past it, the key is new again (see docs/middlewares.md). @default {@link OPTION_DEFAULTS}.idempotency.ttlMs
   */
  ttlMs?: number | undefined;
  /** The largest response body kept for a replay, in bytes; a reuse of a key whose response was larger is answered 409. @default {@link OPTION_DEFAULTS}.idempotency.maxBodyBytes */
  maxBodyBytes?: number | undefined;
  /** Keys kept in memory (without a `redisStore`), least recently used dropped first. @default {@link OPTION_DEFAULTS}.idempotency.max */
  max?: number | undefined;
  /** The most response bytes kept in memory for replays (without a `redisStore`); a key whose response was dropped is answered 409. @default {@link OPTION_DEFAULTS}.idempotency.maxMemoryBytes */
  maxMemoryBytes?: number | undefined;
}

/** createGate's `health`: what `gate.health()` counts as recent. */
export interface GateHealthOptions {
  /** How long a failure counts as recent for `gate.health()` (ecom9 failing, usage spooled, bus errors), in ms. @default {@link OPTION_DEFAULTS}.health.windowMs */
  windowMs?: number | undefined;
}

/** createGate's `credits`: how long a hold lives, and how long a balance is trusted. */
export interface GateCreditsOptions {
  /** A hold never settled is closed after this long (what it used is charged, the rest given back), in ms. @default {@link OPTION_DEFAULTS}.credits.holdTtlMs */
  holdTtlMs?: number | undefined;
  /**
   * How long the balance a hold is judged against is trusted before ecom9 is asked again, in ms
   * (each debit corrects it meanwhile; docs/credits.md says how far it can drift). @default {@link OPTION_DEFAULTS}.credits.balanceTtlMs
   */
  balanceTtlMs?: number | undefined;
}

/** createGate's options, as written; every one may be left out (apiKey then comes from ECOM9_API_KEY). */
export interface GateOptions {
  /**
   * Your ecom9 Payment Gateway API key. `undefined` (as `process.env.ECOM9_API_KEY` may be) falls back
   * to the environment. @default process.env.ECOM9_API_KEY
   */
  apiKey?: string | undefined;
  /** ecom9's API root; ECOM9_BASE_URL overrides the default. @default {@link OPTION_DEFAULTS}.baseUrl */
  baseUrl?: string | undefined;
  /** How the key is sent: `Authorization: Bearer` or `X-API-Key`. @default {@link OPTION_DEFAULTS}.authScheme */
  authScheme?: 'bearer' | 'x-api-key' | undefined;
  /** `whsec_...` secret(s) for webhook signatures; several during a rotation. @default process.env.ECOM9_WEBHOOK_SECRET */
  webhookSecret?: string | string[] | undefined;
  /** When ecom9 is unreachable and nothing young enough is cached: deny with 503, or allow. @default {@link OPTION_DEFAULTS}.failMode */
  failMode?: 'closed' | 'open' | undefined;
  /** Tiers from lowest to highest, for `atLeast` checks. @example ['starter', 'pro', 'enterprise'] */
  tierOrder?: string[] | undefined;
  /** How long facts are fresh, and how many are kept. */
  cache?: GateCacheOptions | undefined;
  /** Timeouts, retries and the pool of the gate's client: createClient's rules and defaults. */
  http?: HttpOptions | undefined;
  /** How metered usage is queued, summed, sent and kept. */
  usage?: GateUsageOptions | undefined;
  /** How webhook deliveries are verified and deduplicated. */
  webhooks?: GateWebhookOptions | undefined;
  /** What `gate.health()` counts as recent. */
  health?: GateHealthOptions | undefined;
  /** Holds (`reserveCredits`): how long one lives, how long a balance is trusted. */
  credits?: GateCreditsOptions | undefined;
  /** Idempotency-Key on chargeCredits and meterUsage: how long keys and replayed responses are kept (docs/middlewares.md). */
  idempotency?: GateIdempotencyOptions | undefined;
  /** Carries invalidations (and webhook dedupe) to other instances: `redisBus(...)` from `ecom9-gate/redis`. */
  bus?: InvalidationBus | undefined;
  /** A cache shared by every instance, behind each one's own: `redisStore(...)` from `ecom9-gate/redis`. */
  store?: FactStore | undefined;
  /** What could not be done in the background (usage given up on, a misconfigured product, a failed handler). @default logger.warn */
  onError?: ((err: unknown) => void) | undefined;
  /** Where warnings go. @default console */
  logger?: Logger | undefined;
  /** Clock in ms, for tests. Must not start at 0. @default Date.now */
  now?: (() => number) | undefined;
}
