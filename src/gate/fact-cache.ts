// The gate's cache of facts from ecom9 (account status, entitlement answers, links), on lru-cache:
// bounded by `max`, one TTL for facts that allow and another for facts that deny, concurrent misses
// coalesced by `fetchMethod`, expired facts kept for stale-if-error, and every entry of an account
// dropped at once by `invalidate`.
import { LRUCache } from 'lru-cache';
import type { StatsRecorder } from './stats';

/**
 * One cached fact, and the decisions already derived from it by requirement, so a warm hit allocates
 * nothing. Most accounts meet one or two requirements, so the first decision lives in two fields and
 * only more take a Map: at 100,000 cached accounts a Map each would cost more than the facts.
 */
export class Fact<T = unknown> {
  /** Set when the fact was served stale because ecom9 failed: until then it is served without asking again. */
  coolUntil: number | undefined = undefined;
  lastError: unknown = undefined;
  private k0: object | undefined = undefined;
  private v0: unknown = undefined;
  private rest: Map<object, unknown> | undefined = undefined;

  constructor(
    readonly value: T,
    readonly denies: boolean,
    readonly fetchedAt: number,
  ) {}

  decision<D>(k: object): D | undefined {
    return (this.k0 === k ? this.v0 : this.rest?.get(k)) as D | undefined;
  }

  remember(k: object, v: unknown): void {
    if (this.k0 === undefined || this.k0 === k) {
      this.k0 = k;
      this.v0 = v;
    } else (this.rest ??= new Map()).set(k, v);
  }
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
  /** True when `now` is a test clock: then lru-cache reads it on every check instead of memoising it. */
  clockInjected: boolean;
  stats: StatsRecorder;
}

const SEP = '\u0000';

// After ecom9 fails, a stale fact is served without asking again for this long (or for as long as a
// 429 asked), so an outage costs each key one slow attempt per second, not one per request.
const STALE_COOLDOWN_MS = 1_000;

/** The part of a cache key after the account ref; compute it once per check, not per request. */
export function keySuffix(...parts: string[]): string {
  return SEP + parts.join(SEP);
}

// Distinct key suffixes remembered for invalidation. They come from the app's requirements and the
// catalogue, so a real app has a handful; past this many, an invalidation clears the whole cache.
const MAX_SUFFIXES = 10_000;

// A fetch joined by a waiter can be aborted by an invalidation; the waiter then asks again, a bounded
// number of times, so what it gets is never older than the invalidation.
const MAX_REFETCH = 3;

export class FactCache {
  private readonly lru: LRUCache<string, Fact, Loader>;
  // Every key is `ref + suffix`, and suffixes are few: an invalidation deletes `ref + s` for each of
  // them, instead of keeping an index of keys per account (which cost more memory than a fact).
  private readonly suffixes = new Set<string>();
  private suffixOverflow = false;
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
      // With a test clock, lru-cache reads it on every check (no 1 ms memo) so TTLs are exact; with
      // the real clock it keeps its own memoised performance.now(), which the warm path depends on.
      ...(opts.clockInjected ? { ttlResolution: 0, perf: { now: () => this.now() } } : {}),
      fetchMethod: async (_key, _stale, { options, context }) => {
        const loaded = await context();
        options.ttl = Math.max(loaded.denies ? denyTtlMs : ttlMs, 1);
        return new Fact(loaded.value, loaded.denies, this.now());
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
    const d = this.lru.get(key)?.decision<D>(memoKey);
    if (d !== undefined) this.stats.hit();
    return d;
  }

  /** A fact from the cache, from ecom9, or, when ecom9 fails, a stale one within staleIfErrorMs. */
  async lookup<T>(accountRefId: string, suffix: string, loader: Loader<T>): Promise<Lookup<T>> {
    this.remember(suffix);
    const key = accountRefId + suffix;
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
      return { kind: 'fresh', fact: new Fact(loaded.value, loaded.denies, this.now()), source: 'upstream' };
    } catch (error) {
      return this.failed(error);
    }
  }

  /** Drops every entry of the account; a fetch in flight for it is aborted and never written back. */
  invalidate(accountRefId: string): number {
    if (this.suffixOverflow) {
      const n = this.lru.size;
      this.lru.clear();
      return n;
    }
    let n = 0;
    for (const suffix of this.suffixes) if (this.lru.delete(accountRefId + suffix)) n++;
    return n;
  }

  clear(): void {
    this.lru.clear();
  }

  private remember(suffix: string): void {
    if (this.suffixes.has(suffix)) return;
    if (this.suffixes.size < MAX_SUFFIXES) this.suffixes.add(suffix);
    else this.suffixOverflow = true;
  }

  private failed(error: unknown): Lookup<never> {
    this.stats.inc('upstreamErrors');
    return { kind: 'failed', error };
  }
}
