// The options of createGate as users see them, with their defaults. options.ts checks them at run time.
import type { DecisionCode } from './decision';
import type { StatsRecorder } from './stats';
import type { ReplayGuard } from '../webhooks/replay';
import type { WebhookVerifier } from '../webhooks/handler';

export interface Logger {
  warn(message: string): void;
  error?(message: string): void;
}

/** What a bus hands the gate when it subscribes. */
export interface BusSubscriber {
  /** Drops the account's entries in this instance only (never re-published). */
  invalidate(accountRefId: string): void;
  /** Drops everything: after a reconnect, entries cached while the bus was down may have missed an invalidation. */
  clear(): void;
  report(err: unknown): void;
  stats: Pick<StatsRecorder, 'inc'>;
}

/** Carries invalidations between instances (see `ecom9-gate/redis`). */
export interface InvalidationBus {
  publish(accountRefId: string): Promise<void> | void;
  subscribe(subscriber: BusSubscriber): void;
  /** A replay guard shared by every instance, for webhook transaction ids. */
  readonly replayGuard?: ReplayGuard;
  close?(): Promise<void> | void;
}

/** What the gate hands a shared store when it attaches to it. */
export interface StoreAttachment {
  /** The gate's allow and deny TTLs, and its clock (a fact's expiry is `now() + ttl`). */
  ttlMs: number;
  denyTtlMs: number;
  now: () => number;
  report(err: unknown): void;
  stats: Pick<StatsRecorder, 'inc'>;
}

/** A fact as a shared store hands it back: when it was fetched and when it stops being fresh (the gate's clock). */
export interface StoredFact {
  value: unknown;
  denies: boolean;
  fetchedAt?: number;
  expiresAt?: number;
}

/** A second-level cache of facts shared by every instance (see `redisStore` in `ecom9-gate/redis`). */
export interface FactStore {
  attach(gate: StoreAttachment): void;
  /**
   * The fact under (account, key): from the store, else from `load`, called once for the whole fleet.
   * Rejects only with what `load` threw; the store's own trouble falls back to `load`.
   */
  load(accountRefId: string, key: string, load: () => Promise<{ value: unknown; denies: boolean }>): Promise<StoredFact>;
  /** A denial was derived from a fact cached with the allow TTL: from now on it lives only the deny TTL. */
  shorten?(accountRefId: string, key: string, fetchedAt: number): void;
  /** Drops every fact about the account; a fetch in flight for it must not write back. */
  invalidate(accountRefId: string): Promise<void>;
  close?(): Promise<void> | void;
}

export interface GateOptions {
  /** Your ecom9 Payment Gateway API key. @default process.env.ECOM9_API_KEY */
  apiKey?: string;
  /** @default process.env.ECOM9_BASE_URL ?? 'https://app.ecom9.com/api/' */
  baseUrl?: string;
  /** How the key is sent: `Authorization: Bearer` or `X-API-Key`. @default 'bearer' */
  authScheme?: 'bearer' | 'x-api-key';
  /** `whsec_...` secret(s) for webhook signatures; several during a rotation. @default process.env.ECOM9_WEBHOOK_SECRET */
  webhookSecret?: string | string[];
  /** When ecom9 is unreachable and nothing young enough is cached: deny with 503, or allow. @default 'closed' */
  failMode?: 'closed' | 'open';
  /** Tiers from lowest to highest, for `atLeast` checks. @example ['starter', 'pro', 'enterprise'] */
  tierOrder?: string[];
  cache?: {
    /** How long a fact that grants access is fresh. @default 60_000 */
    ttlMs?: number;
    /** How long a fact that denies (no active subscription, unknown account, no entitlement) is fresh. @default 10_000 */
    denyTtlMs?: number;
    /** When ecom9 fails, the oldest fact still served (`source: 'stale'`), measured from when it was fetched. @default 300_000 */
    staleIfErrorMs?: number;
    /** Most entries kept (LRU). @default 10_000 */
    max?: number;
  };
  http?: {
    /** Per attempt. @default 5_000 */
    timeoutMs?: number;
    /** Retries after the first attempt (connection errors, 429, 5xx; POSTs only with an event_key). @default 2 */
    maxRetries?: number;
    /** @default 500 */
    retryBaseMs?: number;
    /** @default 8_000 */
    retryMaxMs?: number;
    /** Pooled connections to ecom9. @default 64 */
    connections?: number;
  };
  usage?: {
    /** A JSON-lines journal: usage queued when the process dies is sent on the next start. */
    spoolPath?: string;
    /**
     * Events without an eventKey (and without metadata) are summed per account, product and meter over
     * this window and sent as one event; keyed events are always sent on their own. 0 sends every
     * event on its own. @default 1_000
     */
    aggregateMs?: number;
    /** Events held at most; more are dropped, reported and counted. @default 10_000 */
    maxQueue?: number;
    /** Events in flight at once. @default 4 */
    concurrency?: number;
    /** Attempts per event before it is given up on (reported and counted). @default 8 */
    maxAttempts?: number;
    /** @default 500 */
    retryBaseMs?: number;
    /** @default 30_000 */
    retryMaxMs?: number;
  };
  webhooks?: {
    /** Seconds a webhook timestamp may be off, either way. @default 300 */
    toleranceSeconds?: number;
    /** Transaction ids remembered for replay protection. @default 10_000 */
    dedupeMax?: number;
    /** @default 86_400_000 (a day) */
    dedupeTtlMs?: number;
    /** Replaces Standard Webhooks verification with your own. */
    verify?: WebhookVerifier;
  };
  /** Carries invalidations (and webhook dedupe) to other instances: `redisBus(...)` from `ecom9-gate/redis`. */
  bus?: InvalidationBus;
  /** A cache shared by every instance, behind each one's own: `redisStore(...)` from `ecom9-gate/redis`. */
  store?: FactStore;
  /** What could not be done in the background (usage given up on, a misconfigured product, a failed handler). @default logger.warn */
  onError?: (err: unknown) => void;
  /** @default console */
  logger?: Logger;
  /** Clock in ms, for tests. Must not start at 0. @default Date.now */
  now?: () => number;
}

export type { DecisionCode };
