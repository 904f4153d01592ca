// redisStore: a second-level cache of facts shared by every instance, behind each one's own. A miss
// reads Redis; a miss there makes one upstream call for the whole fleet (a lock per fact, SET NX PX,
// the others polling for the holder's answer); answers are written with the gate's allow/deny TTLs.
//
// Why not BentoCache (multi-tier cache with a bus), evaluated first: its reads are all async, so its
// L1 cannot sit under the gate's synchronous warm path (`peek`): measured on this machine, an L1 hit
// through `bento.get` took 10-14 µs against 40-300 ns for `LRUCache.get` (39x to 350x; `getOrSet`
// 88x+), where the target is 3x. Used as L2 only, what the tests need is missing: its stampede lock
// is an in-process mutex (no fleet-wide single flight), a write racing an invalidation is not
// refused, and its Redis calls have no ~50 ms fallback. So the gate keeps its lru-cache (the warm
// path is unchanged) and this file hand-writes the Redis tier in four Lua scripts.
//
// One hash per account (`{prefix}{ref}`) holds every fact about it, so one DEL drops them all. Each
// account has a generation counter beside it, bumped by an invalidation; a holder writes its answer
// only if the generation is the one it read before asking ecom9 (checked in the script that writes),
// so a fetch that raced an invalidation never puts its stale answer back.
//
// The parts, each in its own file: the scripts and the stored form (store-scripts.ts), the connection
// and the outage rule (store-connection.ts: Redis slow or down never stops a check), the lock and the
// wait (store-lock.ts). This file is the FactStore the gate sees (docs/fleet.md, "The store interface").
import type { FactStore } from '../gate/public-options';
import { ArgumentError, StoreUnavailableError } from '../shared/errors';
import { bounded, connectStore } from './store-connection';
import { loadOnce } from './store-lock';
import { keysOf } from './store-scripts';
import { parseRedisStoreOptions, type RedisStoreOptions } from './store-options';
import { redisHoldLedger } from './holds';
import { redisIdempotencyStore } from './idempotency-store';
import { refuseOnEdge } from '../shared/runtime';

export type { RedisStoreOptions } from './store-options';

export interface RedisStore extends FactStore {
  /** True while the store's connection is up and not skipped after a failure. */
  readonly connected: boolean;
  /** For gate.health(): 'failing' while Redis is down or skipped after failures in a row. */
  health(): 'ok' | 'failing';
  /** Disconnects the store's own connection (never a client you passed in). */
  close(): Promise<void>;
}

// The generation outlives any fetch in flight by far; an expired one reads as '0', which only a
// fetch that started before it was ever bumped could match, long since finished.
const GENERATION_TTL_MS = 24 * 60 * 60_000;

export function redisStore(options: RedisStoreOptions): RedisStore {
  refuseOnEdge('redisStore', 'ioredis', 'an isolate gives it no node:net socket to Redis');
  const o = parseRedisStoreOptions(options);
  const c = connectStore(o);
  const { redis } = c;
  return {
    get connected() {
      return c.usable();
    },
    health: () => (c.usable() ? 'ok' : 'failing'),
    attach(g) {
      if (c.gate) throw new ArgumentError('ecom9-gate: this redisStore already serves a gate; make one store per gate');
      c.gate = g;
    },
    load(ref, field, load, opts) {
      const g = c.gate;
      if (!g || !c.usable()) {
        g?.stats.inc('storeBypassed');
        return load();
      }
      return loadOnce(c, o, g, ref, field, load, opts?.newerThan);
    },
    shorten(ref, field, fetchedAt) {
      const g = c.gate;
      if (!g || !c.usable()) return;
      const k = keysOf(o.prefix, ref, field);
      redis.ecom9Shorten(k.hash, field, Math.floor(fetchedAt), Math.floor(fetchedAt) + Math.max(g.denyTtlMs, 1)).catch((e: unknown) => c.trouble(e, true));
    },
    holdLedger: ({ balanceTtlMs }) =>
      redisHoldLedger({
        redis,
        prefix: o.prefix,
        usable: c.usable,
        bounded: (p) => bounded(p, o.timeoutMs),
        now: () => (c.gate ?? { now: Date.now }).now(),
        balanceTtlMs,
      }),
    async invalidate(ref) {
      // Tried even while reads are skipped: a delete that gets through is worth the wait.
      // Rejects when the delete is not confirmed: the generation was not bumped, so a fetch in flight
      // elsewhere could still write its answer back. The gate then answers the webhook 503 (ecom9 retries).
      if (redis.status !== 'ready') {
        c.trouble(new Error('not connected'), true);
        throw new StoreUnavailableError("ecom9-gate: the Redis store could not drop the account's facts (not connected)");
      }
      const k = keysOf(o.prefix, ref, '');
      try {
        await bounded(redis.ecom9Drop(k.hash, k.gen, GENERATION_TTL_MS), o.timeoutMs);
        c.fine();
      } catch (err) {
        c.trouble(err, true);
        throw new StoreUnavailableError("ecom9-gate: the Redis store could not drop the account's facts", { cause: err });
      }
    },
    // Claims wait up to a second (not timeoutMs): a refused claim is a 503, a slow one only a slower request.
    idempotencyStore: (i) => redisIdempotencyStore(redis, { prefix: o.prefix, timeoutMs: Math.max(o.timeoutMs, 1_000), ...i }),
    close: () => c.close(),
  };
}
