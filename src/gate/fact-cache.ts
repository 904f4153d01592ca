// The gate's cache of facts from ecom9 (account status, entitlement answers, links), on lru-cache:
// bounded by `max`, one TTL for facts that allow and another for facts that deny, concurrent misses
// coalesced by `fetchMethod` (failures and invalidations included), expired facts kept for
// stale-if-error, and every entry of an account dropped at once by `invalidate`. Refresh ahead: a fact
// that grants access, read within `refreshAheadMs` of its expiry, is answered from the cache and
// fetched again in the background once; after an invalidation, what was read within the last TTL is
// fetched again in the background (a check arriving meanwhile joins that fetch, never the old fact).
import { LRUCache } from 'lru-cache';
import type { FactStore, StoredFact } from './public-options';
import type { StatsRecorder } from '../shared/stats';

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
  /** How it was fetched, so a refresh asks again the same way (set with refresh ahead on). */
  source: FetchContext | undefined = undefined;
  /** When a check last read it, on the cache's clock (kept with refresh ahead on). */
  readAt = 0;
  /** The refresh ahead in flight: a check that finds the fact expired waits for it. */
  refreshing: Promise<Fact<T> | undefined> | undefined = undefined;
  /** When a check reading it refreshes it (the cache's clock): its expiry less refreshAheadMs; pushed back after a failed refresh. */
  refreshAt = Number.POSITIVE_INFINITY;

  constructor(
    readonly value: T,
    /** Cached with the deny TTL: it denied when fetched, or a denial was derived from it since. */
    public denies: boolean,
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
  /** Failures no stale fact may hide (a wrong API key is not an outage). */
  noStaleFor?: (error: unknown) => boolean;
  /** A cache shared by the fleet, asked on a miss before ecom9. */
  store?: FactStore;
  /** Refresh a granting fact read within this long of its expiry in the background; 0: never (and no refetch after an invalidation). */
  refreshAheadMs?: number;
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
// catalogue, so a real app has a handful. Past this many, or past as many as the cache holds entries
// (then a scan of its keys costs less than trying each suffix), an invalidation scans the keys.
const MAX_SUFFIXES = 10_000;

// A fetch aborted by an invalidation makes its waiters ask again, a bounded number of times, so what
// they get is never older than the invalidation.
const MAX_REFETCH = 3;

/** What `lookup` hands `fetchMethod`: the loader, and the suffix to remember once a fact is stored. */
interface FetchContext {
  load: Loader;
  suffix: string;
}

/**
 * A loader's error, wrapped so that lru-cache rejects every caller waiting on the fetch with it (an
 * unwrapped rejection would do too, but this tells it apart from an invalidation).
 */
class LoadFailure {
  constructor(readonly cause: unknown) {}
}

/** Thrown by `fetchMethod` when the entry was deleted while it was in flight: every waiter asks again. */
const INVALIDATED = Object.freeze({ invalidated: true });

// lru-cache 11 aborts a fetch in flight with Error('deleted') on delete/clear, 'replaced' on set and
// 'evicted' when the cache is full. Only an eviction leaves the answer valid: lru-cache does not store
// it (the slot is no longer the fetch), but its waiters may still have it.
const isEviction = (reason: unknown): boolean => reason instanceof Error && reason.message === 'evicted';

/** One dropped entry to fetch again once the fleet's copy is gone too. */
type Refetch = readonly [key: string, source: FetchContext];

export class FactCache {
  private readonly lru: LRUCache<string, Fact, FetchContext>;
  // Every key is `ref + suffix`, and suffixes are few: an invalidation deletes `ref + s` for each of
  // them, instead of keeping an index of keys per account (which cost more memory than a fact). A
  // suffix is remembered only once a fact is stored under it, so failed lookups cannot fill the set.
  private readonly suffixes = new Set<string>();
  private suffixOverflow = false;
  private readonly maxSuffixes: number;
  // Suffixes of fetches in flight (with how many), so an invalidation also aborts a fetch whose suffix
  // is not remembered yet (the first fetch of a new requirement).
  private readonly inFlight = new Map<string, number>();
  // Keys dropped while a fetch started by another Worker request was in flight (see drop()), with the
  // drop's number: that fetch's answer is not written back, and the fact it may restore is deleted.
  private readonly droppedAt = new Map<string, number>();
  private drops = 0;
  private readonly staleIfErrorMs: number;
  private readonly denyTtlMs: number;
  private readonly now: () => number;
  private readonly stats: StatsRecorder;
  private readonly noStaleFor: (error: unknown) => boolean;
  private readonly store: FactStore | undefined;
  private readonly aheadMs: number;
  private readonly ttlMs: number;
  // The time lru-cache last read (it reads its clock at most once a millisecond, memoised, and on
  // every check with a test clock): the warm path compares a fact's refreshAt with it, so refreshing
  // ahead costs no clock read of its own (measured: lru-cache's `status` or getRemainingTTL doubled a get).
  private clock = 0;

  constructor(opts: FactCacheOptions) {
    this.staleIfErrorMs = opts.staleIfErrorMs;
    this.now = opts.now;
    this.stats = opts.stats;
    this.noStaleFor = opts.noStaleFor ?? (() => false);
    const store = (this.store = opts.store);
    this.maxSuffixes = Math.min(MAX_SUFFIXES, opts.max);
    const { ttlMs, denyTtlMs } = opts;
    this.denyTtlMs = Math.max(denyTtlMs, 1);
    this.ttlMs = Math.max(ttlMs, 1);
    this.aheadMs = opts.refreshAheadMs ?? 0;
    const now = opts.clockInjected ? () => (this.clock = this.now()) : () => (this.clock = performance.now());
    this.lru = new LRUCache<string, Fact, FetchContext>({
      max: opts.max,
      ttl: Math.max(ttlMs, 1),
      // Expired entries stay until evicted: they are the stale-if-error reserve.
      noDeleteOnStaleGet: true,
      // A failed refresh puts the expired fact back (the reserve) and rejects every waiter; `lookup`
      // then applies the stale rules for each of them.
      noDeleteOnFetchRejection: true,
      // A fetch runs to its end even when aborted: `fetchMethod` decides what an abort means.
      ignoreFetchAbort: true,
      // With a test clock, lru-cache reads it on every check (no 1 ms memo) so TTLs are exact; with
      // the real clock it keeps its own memoised performance.now(), which the warm path depends on.
      ...(opts.clockInjected ? { ttlResolution: 0 } : {}),
      perf: { now },
      fetchMethod: async (key, _stale, { options, signal, context }) => {
        const { load, suffix } = context;
        const startedAt = this.drops;
        this.inFlight.set(suffix, (this.inFlight.get(suffix) ?? 0) + 1);
        let loaded: Awaited<ReturnType<Loader>> & { fetchedAt?: number; expiresAt?: number };
        try {
          // With a store, the fleet's copy (or its one upstream call); its own trouble falls back to `load`.
          loaded = store ? await store.load(key.slice(0, key.length - suffix.length), suffix, load) : await load();
        } catch (e) {
          // Counted once per call, however many checks were waiting on it.
          this.stats.inc('upstreamErrors');
          throw new LoadFailure(e);
        } finally {
          const n = this.inFlight.get(suffix) ?? 1;
          if (n > 1) this.inFlight.set(suffix, n - 1);
          else this.inFlight.delete(suffix);
        }
        // Deleted (invalidated) while in flight: what was read may predate the invalidation.
        if ((signal.aborted && !isEviction(signal.reason)) || (this.droppedAt.get(key) ?? -1) > startedAt) throw INVALIDATED;
        // A fact from the store lives here only as long as it has left there.
        const ttl = loaded.expiresAt !== undefined ? loaded.expiresAt - this.now() : loaded.denies ? denyTtlMs : ttlMs;
        options.ttl = Math.max(ttl, 1);
        this.remember(suffix);
        return this.fact(loaded, context, options.ttl);
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
    const fact = this.lru.get(key);
    const d = fact?.decision<D>(memoKey);
    if (d !== undefined) {
      this.stats.hit();
      if (this.aheadMs > 0) this.read(key, fact as Fact);
    }
    return d;
  }

  /** A fact from the cache, from ecom9, or, when ecom9 fails, a stale one within staleIfErrorMs. */
  async lookup<T>(accountRefId: string, suffix: string, loader: Loader<T>): Promise<Lookup<T>> {
    const key = accountRefId + suffix;
    const hit = this.lru.get(key) as Fact<T> | undefined;
    if (hit !== undefined) {
      this.stats.inc('cacheHits');
      if (this.aheadMs > 0) this.read(key, hit);
      return { kind: 'fresh', fact: hit, source: 'cache' };
    }
    const held = this.lru.peek(key, { allowStale: true }) as Fact<T> | undefined;
    // Expired while its refresh ahead runs: that refresh is the answer (never the expired fact).
    const refreshing = held?.refreshing;
    if (refreshing !== undefined) {
      const fact = await refreshing;
      if (fact !== undefined) {
        this.stats.inc('coalesced');
        return { kind: 'fresh', fact, source: 'upstream' };
      }
    }
    if (held?.coolUntil !== undefined && held.coolUntil > this.now()) {
      const ageMs = this.now() - held.fetchedAt;
      if (ageMs <= this.staleIfErrorMs) {
        this.stats.inc('staleServed');
        return { kind: 'stale', fact: held, ageMs, error: held.lastError };
      }
    }
    this.stats.inc('cacheMisses');
    const context: FetchContext = { load: loader as Loader, suffix };
    for (let attempt = 0; attempt < MAX_REFETCH; attempt++) {
      const status: LRUCache.Status<string, Fact, FetchContext> = {};
      const fetching = this.lru.fetch(key, { context, status });
      // lru-cache fills `status` synchronously, and only for this caller: read it before awaiting.
      if (attempt === 0 && status.fetch === 'inflight') this.stats.inc('coalesced');
      try {
        const fact = (await fetching) as Fact<T> | undefined;
        if (fact !== undefined) return { kind: 'fresh', fact, source: 'upstream' };
      } catch (e) {
        if (e instanceof LoadFailure) return this.afterFailure<T>(key, e.cause);
        if (e !== INVALIDATED) return { kind: 'failed', error: e };
        // Dropped without an abort (drop()): the fact lru-cache put back predates the drop.
        if (this.droppedAt.delete(key)) this.lru.delete(key);
      }
    }
    // Invalidated on every attempt: answer from ecom9 directly, and cache nothing.
    try {
      const loaded = await loader();
      return { kind: 'fresh', fact: new Fact(loaded.value, loaded.denies, this.now()), source: 'upstream' };
    } catch (error) {
      this.stats.inc('upstreamErrors');
      return { kind: 'failed', error };
    }
  }

  /**
   * A denial was derived from a fact cached with the allow TTL (an account active on another tier):
   * from now on the entry lives only denyTtlMs from its fetch, like any denial. Once per fact.
   */
  shortenToDenyTtl(accountRefId: string, suffix: string, fact: Fact): void {
    if (fact.denies) return;
    fact.denies = true;
    this.store?.shorten?.(accountRefId, suffix, fact.fetchedAt);
    const key = accountRefId + suffix;
    // Only the very fact, fresh and not being refetched: setting over a fetch in flight would abort it.
    if (this.lru.peek(key) !== fact) return;
    const ageMs = this.now() - fact.fetchedAt;
    this.lru.set(key, fact, { ttl: this.denyTtlMs, start: this.lru.perf.now() - ageMs });
  }

  /**
   * Drops every entry of the account; a fetch in flight for it is aborted and never written back.
   * With refresh ahead on, the entries read within the last TTL are fetched again in the background
   * once `ready` resolves true (the fleet's copy is gone too; at once without it), so the next check
   * finds them or joins that fetch.
   */
  invalidate(accountRefId: string, ready?: Promise<boolean>): number {
    const again: Refetch[] | undefined = this.aheadMs > 0 ? [] : undefined;
    let n = 0;
    if (this.suffixOverflow) n = this.dropByScan(accountRefId, again);
    else for (const suffix of this.suffixes) if (this.drop(accountRefId + suffix, again)) n++;
    // lru-cache's keys() skips fetches in flight, and a first fetch's suffix is not remembered yet.
    for (const suffix of this.inFlight.keys()) if (this.drop(accountRefId + suffix, undefined)) n++;
    if (again !== undefined && again.length > 0) {
      if (ready === undefined) this.refetch(again);
      else void ready.then((go) => go && this.refetch(again));
    }
    return n;
  }

  /**
   * Deletes the key, aborting a fetch in flight for it, and notes what to fetch again (`again`). In a
   * Worker, a fetch started by another request cannot be aborted from this one (its AbortSignal
   * belongs to that request, and lru-cache's delete throws before changing anything): the key is
   * marked instead, so that fetch's answer is never stored and every waiter asks again.
   */
  private drop(key: string, again: Refetch[] | undefined): boolean {
    if (again !== undefined) {
      const old = this.lru.peek(key, { allowStale: true });
      if (old?.source !== undefined && this.lru.perf.now() - old.readAt < this.ttlMs) again.push([key, old.source]);
    }
    try {
      return this.lru.delete(key);
    } catch {
      this.droppedAt.set(key, ++this.drops);
      return true;
    }
  }

  /** Fetches dropped entries again, once each; a check arriving meanwhile joins the fetch. */
  private refetch(again: readonly Refetch[]): void {
    for (const [key, context] of again) {
      // Another check may have fetched it already.
      if (this.lru.has(key)) continue;
      this.stats.inc('refreshes');
      this.lru.fetch(key, { context }).catch((e: unknown) => {
        // Superseded by another invalidation is no failure; the upstream error itself is counted by fetchMethod.
        if (e instanceof LoadFailure) this.stats.inc('refreshErrors');
      });
    }
  }

  /** Notes the read, and refreshes a granting fact about to expire (once; not again soon after a failure). */
  private read(key: string, fact: Fact): void {
    const now = this.clock;
    fact.readAt = now;
    if (now < fact.refreshAt || fact.denies || fact.refreshing !== undefined) return;
    const source = fact.source;
    if (source !== undefined) fact.refreshing = this.refresh(key, fact, source);
  }

  /** A refresh ahead: the new fact replaces the old unless the account was invalidated meanwhile. */
  private async refresh(key: string, old: Fact, source: FetchContext): Promise<Fact | undefined> {
    this.stats.inc('refreshes');
    const ref = key.slice(0, key.length - source.suffix.length);
    try {
      // With a store, the fleet refreshes once: a copy fetched after ours counts, ours does not.
      const loaded: StoredFact = this.store ? await this.store.load(ref, source.suffix, source.load, { newerThan: old.fetchedAt }) : await source.load();
      // Dropped (an invalidation) or replaced while in flight: what was read may predate it.
      if (this.lru.peek(key, { allowStale: true }) !== old) return undefined;
      const ttl = Math.max(loaded.expiresAt !== undefined ? loaded.expiresAt - this.now() : loaded.denies ? this.denyTtlMs : this.ttlMs, 1);
      const fresh = this.fact(loaded, source, ttl);
      fresh.readAt = old.readAt;
      this.lru.set(key, fresh, { ttl });
      return fresh;
    } catch {
      this.stats.inc('upstreamErrors');
      this.stats.inc('refreshErrors');
      old.refreshAt = this.lru.perf.now() + STALE_COOLDOWN_MS;
      return undefined;
    } finally {
      old.refreshing = undefined;
    }
  }

  /** A fact as cached for `ttl` ms from now, refreshed by a read in its last refreshAheadMs. */
  private fact(loaded: StoredFact, source: FetchContext, ttl: number): Fact {
    const fact = new Fact(loaded.value, loaded.denies, loaded.fetchedAt ?? this.now());
    if (this.aheadMs > 0) {
      const now = this.lru.perf.now();
      fact.source = source;
      fact.readAt = now;
      fact.refreshAt = now + ttl - this.aheadMs;
    }
    return fact;
  }

  clear(): void {
    this.lru.clear();
  }

  private remember(suffix: string): void {
    if (this.suffixOverflow || this.suffixes.has(suffix)) return;
    if (this.suffixes.size < this.maxSuffixes) this.suffixes.add(suffix);
    else {
      // Too many to try one by one: from now on an invalidation scans the keys for the account's prefix.
      this.suffixOverflow = true;
      this.suffixes.clear();
    }
  }

  /** Deletes every key of the account, found by its prefix (refs never contain NUL). */
  private dropByScan(accountRefId: string, again?: Refetch[]): number {
    const prefix = accountRefId + SEP;
    const doomed: string[] = [];
    // keys() yields expired entries only with allowStale on, and those are the stale reserve: drop them too.
    const was = this.lru.allowStale;
    this.lru.allowStale = true;
    try {
      for (const k of this.lru.keys()) if (k.startsWith(prefix)) doomed.push(k);
    } finally {
      this.lru.allowStale = was;
    }
    for (const k of doomed) this.drop(k, again);
    return doomed.length;
  }

  /** ecom9 failed (once for every waiter): a stale fact within staleIfErrorMs, else failed. */
  private afterFailure<T>(key: string, error: unknown): Lookup<T> {
    if (this.noStaleFor(error)) return { kind: 'failed', error };
    const old = this.lru.peek(key, { allowStale: true }) as Fact<T> | undefined;
    if (old === undefined) return { kind: 'failed', error };
    const ageMs = this.now() - old.fetchedAt;
    if (ageMs > this.staleIfErrorMs) return { kind: 'failed', error };
    this.stats.inc('staleServed');
    const asked = (error as { retryAfterMs?: number } | undefined)?.retryAfterMs ?? 0;
    old.coolUntil = this.now() + Math.max(STALE_COOLDOWN_MS, asked);
    old.lastError = error;
    return { kind: 'stale', fact: old, ageMs, error };
  }
}
