// The gate's cache of facts from ecom9 (account status, entitlement answers, links), on lru-cache:
// bounded by `max`, one TTL for facts that allow and another for facts that deny, concurrent misses
// coalesced by `fetchMethod`, expired facts kept for stale-if-error, and every entry of an account
// dropped at once by `invalidate`.
import { LRUCache } from 'lru-cache';
import type { StatsRecorder } from './stats';

/** One cached fact. `memo` holds decisions already derived from it, so a warm hit allocates nothing. */
export interface Fact<T = unknown> {
  readonly value: T;
  readonly fetchedAt: number;
  readonly denies: boolean;
  readonly memo: Map<object, unknown>;
  /** Set when the fact was served stale because ecom9 failed: until then it is served without asking again. */
  coolUntil?: number;
  lastError?: unknown;
}

/** Fetches a fact from ecom9. Throws on an upstream failure; a definite "no" is a value, not a throw. */
export type Loader<T = unknown> = () => Promise<{ value: T; denies: boolean }>;

export type Lookup<T> =
  | { readonly kind: 'fresh'; readonly fact: Fact<T>; readonly source: 'cache' | 'upstream' }
  | { readonly kind: 'stale'; readonly fact: Fact<T>; readonly ageMs: number; readonly error: unknown }
  | { readonly kind: 'failed'; readonly error: unknown };

export interface FactCacheOptions {
  max: number;
  ttlMs: number;
  denyTtlMs: number;
  staleIfErrorMs: number;
  now: () => number;
  stats: StatsRecorder;
}

const SEP = '\u0000';

// After ecom9 fails, a stale fact is served without asking again for this long (or for as long as a
// 429 asked), so an outage costs each key one slow attempt per second, not one per request.
const STALE_COOLDOWN_MS = 1_000;

/** Cache keys start with the account ref, so an invalidation can find them; refs never hold NUL. */
export function factKey(accountRefId: string, ...parts: string[]): string {
  return accountRefId + SEP + parts.join(SEP);
}

// A fetch joined by a waiter can be aborted by an invalidation; the waiter then asks again, a bounded
// number of times, so what it gets is never older than the invalidation.
const MAX_REFETCH = 3;

export class FactCache {
  private readonly lru: LRUCache<string, Fact, Loader>;
  private readonly byAccount = new Map<string, Set<string>>();
  private readonly staleIfErrorMs: number;
  private readonly now: () => number;
  private readonly stats: StatsRecorder;

  constructor(opts: FactCacheOptions) {
    this.staleIfErrorMs = opts.staleIfErrorMs;
    this.now = opts.now;
    this.stats = opts.stats;
    const { ttlMs, denyTtlMs } = opts;
    this.lru = new LRUCache<string, Fact, Loader>({
      max: opts.max,
      ttl: Math.max(ttlMs, 1),
      // Expired entries stay until evicted: they are the stale-if-error reserve.
      noDeleteOnStaleGet: true,
      allowStaleOnFetchRejection: true,
      noDeleteOnFetchRejection: true,
      // The clock is read on every check (no 1 ms memo), so an injected test clock is exact.
      ttlResolution: 0,
      perf: { now: () => this.now() },
      fetchMethod: async (_key, _stale, { options, context }) => {
        const loaded = await context();
        options.ttl = Math.max(loaded.denies ? denyTtlMs : ttlMs, 1);
        return { value: loaded.value, denies: loaded.denies, fetchedAt: this.now(), memo: new Map() };
      },
      dispose: (_value, key, reason) => {
        if (reason === 'evict' || reason === 'delete' || reason === 'expire') this.unindex(key);
      },
    });
  }

  get size(): number {
    return this.lru.size;
  }

  /**
   * The decision memoised under `memoKey` on a fresh fact, synchronously, or undefined. Counts a hit
   * only when it answers, so a check that goes on to `lookup` is not counted twice.
   */
  peekDecision<D>(key: string, memoKey: object): D | undefined {
    const d = (this.lru.get(key) as Fact | undefined)?.memo.get(memoKey) as D | undefined;
    if (d !== undefined) this.stats.inc('cacheHits');
    return d;
  }

  /** A fact from the cache, from ecom9, or, when ecom9 fails, a stale one within staleIfErrorMs. */
  async lookup<T>(accountRefId: string, key: string, loader: Loader<T>): Promise<Lookup<T>> {
    const hit = this.lru.get(key) as Fact<T> | undefined;
    if (hit !== undefined) {
      this.stats.inc('cacheHits');
      return { kind: 'fresh', fact: hit, source: 'cache' };
    }
    const held = this.lru.peek(key, { allowStale: true }) as Fact<T> | undefined;
    if (held?.coolUntil !== undefined && held.coolUntil > this.now()) {
      const ageMs = this.now() - held.fetchedAt;
      if (ageMs <= this.staleIfErrorMs) {
        this.stats.inc('staleServed');
        return { kind: 'stale', fact: held, ageMs, error: held.lastError };
      }
    }
    this.stats.inc('cacheMisses');
    try {
      for (let attempt = 0; attempt < MAX_REFETCH; attempt++) {
        // Indexed before each fetch, so an invalidation that lands while it is in flight aborts it.
        this.index(accountRefId, key);
        const status: LRUCache.Status<string, Fact, Loader> = {};
        const fact = (await this.lru.fetch(key, { context: loader as Loader, status })) as Fact<T> | undefined;
        if (attempt === 0 && status.fetch === 'inflight') this.stats.inc('coalesced');
        if (status.fetchAborted || (fact === undefined && status.fetchError === undefined)) continue;
        if (fact === undefined) return this.failed(status.fetchError);
        if (!status.returnedStale) return { kind: 'fresh', fact, source: 'upstream' };
        this.stats.inc('upstreamErrors');
        const ageMs = this.now() - fact.fetchedAt;
        if (ageMs > this.staleIfErrorMs) return { kind: 'failed', error: status.fetchError };
        this.stats.inc('staleServed');
        const asked = (status.fetchError as { retryAfterMs?: number } | undefined)?.retryAfterMs ?? 0;
        fact.coolUntil = this.now() + Math.max(STALE_COOLDOWN_MS, asked);
        fact.lastError = status.fetchError;
        return { kind: 'stale', fact, ageMs, error: status.fetchError };
      }
      // Invalidated on every attempt: answer from ecom9 directly, and cache nothing.
      const loaded = await loader();
      return { kind: 'fresh', fact: { ...loaded, fetchedAt: this.now(), memo: new Map() }, source: 'upstream' };
    } catch (error) {
      return this.failed(error);
    } finally {
      if (this.lru.peek(key, { allowStale: true }) === undefined) this.unindex(key);
    }
  }

  /** Drops every entry of the account; a fetch in flight for it is aborted and never written back. */
  invalidate(accountRefId: string): number {
    const keys = this.byAccount.get(accountRefId);
    if (keys === undefined) return 0;
    this.byAccount.delete(accountRefId);
    for (const key of keys) this.lru.delete(key);
    return keys.size;
  }

  clear(): void {
    this.byAccount.clear();
    this.lru.clear();
  }

  private failed(error: unknown): Lookup<never> {
    this.stats.inc('upstreamErrors');
    return { kind: 'failed', error };
  }

  private index(accountRefId: string, key: string): void {
    let keys = this.byAccount.get(accountRefId);
    if (keys === undefined) {
      keys = new Set();
      this.byAccount.set(accountRefId, keys);
    }
    keys.add(key);
  }

  private unindex(key: string): void {
    const accountRefId = key.slice(0, key.indexOf(SEP));
    const keys = this.byAccount.get(accountRefId);
    if (keys === undefined) return;
    keys.delete(key);
    if (keys.size === 0) this.byAccount.delete(accountRefId);
  }
}
