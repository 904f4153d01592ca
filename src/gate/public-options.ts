// The interfaces createGate's options take (a logger, an invalidation bus); the options themselves and
// their defaults are in options.ts.
import type { DecisionCode } from './decision';
import type { HoldLedger } from './hold-ledger';
import type { CounterName } from '../shared/stats';
import type { ReplayGuard } from '../webhooks/replay';
import type { IdempotencyStore } from '../idempotency/store';

/** Where the gate writes what it warns about (`console` unless given). */
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
  stats: StatsCounter;
}

/** Carries invalidations between instances (see `ecom9-gate/redis`). */
export interface InvalidationBus {
  publish(accountRefId: string): Promise<void> | void;
  subscribe(subscriber: BusSubscriber): void;
  /** A replay guard shared by every instance, for webhook transaction ids. */
  readonly replayGuard?: ReplayGuard;
  close?(): Promise<void> | void;
}

export type { DecisionCode };

/** What the gate hands a shared store when it attaches to it. */
export interface StoreAttachment {
  /** The gate's allow and deny TTLs, and its clock (a fact's expiry is `now() + ttl`). */
  ttlMs: number;
  denyTtlMs: number;
  now: () => number;
  report(err: unknown): void;
  stats: StatsCounter;
}

/** A fact as a shared store hands it back: when it was fetched and when it stops being fresh (the gate's clock). */
export interface StoredFact {
  value: unknown;
  denies: boolean;
  fetchedAt?: number;
  expiresAt?: number;
}

/** How a load is made. */
export interface StoreLoadOptions {
  /**
   * A refresh: a stored fact fetched at or before this time (the gate's clock) counts as missing, so
   * the fleet makes one call for it and every instance takes the newer answer.
   */
  newerThan?: number;
}

/** A second-level cache of facts shared by every instance (see `redisStore` in `ecom9-gate/redis`). */
export interface FactStore {
  attach(gate: StoreAttachment): void;
  /**
   * The fact under (account, key): from the store, else from `load`, called once for the whole fleet.
   * Rejects only with what `load` threw; the store's own trouble falls back to `load`.
   */
  load(accountRefId: string, key: string, load: () => Promise<{ value: unknown; denies: boolean }>, opts?: StoreLoadOptions): Promise<StoredFact>;
  /** A denial was derived from a fact cached with the allow TTL: from now on it lives only the deny TTL. */
  shorten?(accountRefId: string, key: string, fetchedAt: number): void;
  /** Drops every fact about the account; a fetch in flight for it must not write back. */
  invalidate(accountRefId: string): Promise<void>;
  /**
   * For store implementers: where reserveCredits counts open holds for the whole fleet; called once by
   * the gate, after attach(). Without it, each instance counts its own holds.
   */
  holdLedger?(opts: HoldLedgerOptions): HoldLedger;
  /**
   * For store implementers: Idempotency-Keys kept for the whole fleet (on the store's connection),
   * instead of in each instance's memory; called once by the gate, after attach().
   */
  idempotencyStore?(opts: IdempotencyStoreOptions): IdempotencyStore;
  close?(): Promise<void> | void;
}

/** What the gate hands `FactStore.holdLedger()`. */
export interface HoldLedgerOptions {
  /** How long a balance fetched from ecom9 is trusted, in ms (`credits.balanceTtlMs`). */
  balanceTtlMs: number;
}

/** What the gate hands `FactStore.idempotencyStore()`. */
export interface IdempotencyStoreOptions {
  /** How long a key and its kept response live, in ms (`idempotency.ttlMs`). */
  ttlMs: number;
  /** Reports the store's own trouble (counted and logged by the gate). */
  report: (err: unknown) => void;
}

/** Where a bus or a store counts what it did (a counter of GateStats), handed to it by the gate. */
export interface StatsCounter {
  inc(name: CounterName, by?: number): void;
}
