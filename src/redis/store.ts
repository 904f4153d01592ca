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
// so a fetch that raced an invalidation never puts its stale answer back. Waiting is a short poll
// rather than pub/sub: it needs no second connection per instance, and a holder that died is noticed
// the same way (its lock expires and the next poll takes it).
//
// Redis slow or down never stops a check: every command is bounded by `timeoutMs` (no offline queue,
// no retries), a failure sends the check to ecom9, three in a row skip Redis for `retryAfterMs`, and
// the first command that succeeds afterwards ends the outage. Credits and usage never come here.
import { randomUUID } from 'node:crypto';
import { Redis, type RedisOptions } from 'ioredis';
import type { FactStore, StoreAttachment, StoredFact } from '../gate/public-options';
import { ArgumentError, StoreUnavailableError } from '../shared/errors';
import { parseRedisStoreOptions, type RedisStoreOptions } from './store-options';
import { redisHoldLedger } from './holds';

export type { RedisStoreOptions } from './store-options';

export interface RedisStore extends FactStore {
  /** True while the store's connection is up and not skipped after a failure. */
  readonly connected: boolean;
  /** For gate.health(): 'failing' while Redis is down or skipped after failures in a row. */
  health(): 'ok' | 'failing';
  /** Disconnects the store's own connection (never a client you passed in). */
  close(): Promise<void>;
}

// KEYS: the account's hash, its generation, the fact's lock. A hit is a fact whose expiry (the first
// field of `expiresAt|fetchedAt|denies|json`) is still ahead; else the caller takes the lock, or is
// told to wait, or that the holder failed (then it asks ecom9 itself rather than queue behind it).
const READ = `
local v = redis.call('HGET', KEYS[1], ARGV[1])
local gen = redis.call('GET', KEYS[2]) or '0'
if v then
  local e = tonumber(string.match(v, '^(%d+)|'))
  if e and e > tonumber(ARGV[4]) then return {v, gen, 'hit'} end
end
if redis.call('SET', KEYS[3], ARGV[2], 'NX', 'PX', ARGV[3]) then return {'', gen, 'lock'} end
if redis.call('GET', KEYS[3]) == '!failed' then return {'', gen, 'failed'} end
return {'', gen, 'wait'}`;

// The lock goes first (DEL is allowed when Redis is out of memory), then the answer, only if no
// invalidation came since the generation was read.
const WRITE = `
if redis.call('GET', KEYS[3]) == ARGV[5] then redis.call('DEL', KEYS[3]) end
if (redis.call('GET', KEYS[2]) or '0') ~= ARGV[3] then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[4]) then redis.call('PEXPIRE', KEYS[1], ARGV[4]) end
return 1`;

// The holder is alive and still asking: its lock lives another lockTtlMs.
const RENEW = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0`;

const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

// The holder's upstream call failed: the waiters stop waiting and ask ecom9 themselves.
const FAIL = `
if redis.call('GET', KEYS[3]) == ARGV[1] then redis.call('SET', KEYS[3], '!failed', 'PX', ARGV[2]) end
return 0`;

const DROP = `
redis.call('DEL', KEYS[1])
redis.call('INCR', KEYS[2])
redis.call('PEXPIRE', KEYS[2], ARGV[1])
return 1`;

// A denial was derived from a fact stored with the allow TTL: it expires at fetchedAt + denyTtl.
const SHORTEN = `
local v = redis.call('HGET', KEYS[1], ARGV[1])
if not v then return 0 end
local e, f, d, rest = string.match(v, '^(%d+)|(%d+)|(%d)|(.*)$')
if f ~= ARGV[2] or d ~= '0' or tonumber(ARGV[3]) >= tonumber(e) then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3] .. '|' .. f .. '|1|' .. rest)
return 1`;

type Arg = string | number;
interface Scripted extends Redis {
  ecom9Read(hash: string, gen: string, lock: string, field: string, token: string, lockTtlMs: Arg, now: Arg): Promise<[string, string, string]>;
  ecom9Write(hash: string, gen: string, lock: string, field: string, raw: string, seenGen: string, ttlMs: Arg, token: string): Promise<number>;
  ecom9Fail(hash: string, gen: string, lock: string, token: string, ms: Arg): Promise<number>;
  ecom9Renew(lock: string, token: string, ms: Arg): Promise<number>;
  ecom9Release(lock: string, token: string): Promise<number>;
  ecom9Drop(hash: string, gen: string, ms: Arg): Promise<number>;
  ecom9Shorten(hash: string, field: string, fetchedAt: Arg, expiresAt: Arg): Promise<number>;
}

// The generation outlives any fetch in flight by far; an expired one reads as '0', which only a
// fetch that started before it was ever bumped could match, long since finished.
const GENERATION_TTL_MS = 24 * 60 * 60_000;
const FAILURES_TO_SKIP = 3;
const MAX_WAIT_LOCKS = 10;
const MAX_POLL_MS = 100;
const HEADER = /^(\d{1,16})\|(\d{1,16})\|([01])\|/;

function decode(raw: string): StoredFact | undefined {
  const m = HEADER.exec(raw);
  if (!m) return undefined;
  try {
    return { expiresAt: Number(m[1]), fetchedAt: Number(m[2]), denies: m[3] === '1', value: JSON.parse(raw.slice(m[0].length)) };
  } catch {
    return undefined;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * `p`, or a rejection once `ms` have passed without its answer. Hand-written rather than ioredis's
 * `commandTimeout`: that timer fires in the event loop's timers phase, before the poll phase reads the
 * reply already waiting on the socket, so a busy process (a burst of checks on a loaded machine) timed
 * out answers that had come in time and sent the whole burst to ecom9. Here the timer only arms a
 * setImmediate, which runs after the poll phase: the command fails only if its reply has not arrived.
 */
function bounded<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    const timer = setTimeout(
      () =>
        setImmediate(() => {
          if (settled) return;
          settled = true;
          reject(new Error(`Redis did not answer within ${ms} ms`));
        }),
      ms,
    );
    p.then(
      (v) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(v);
      },
      (e: unknown) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        reject(e);
      },
    );
  });
}

export function redisStore(options: RedisStoreOptions): RedisStore {
  const o = parseRedisStoreOptions(options);
  // No offline queue and no retries: while Redis is away a command fails at once; one that is not
  // answered is given up on after timeoutMs (`bounded`). No auto-pipelining: ioredis sends a
  // pipeline's scripts after a SCRIPT EXISTS round trip of its own, and in a busy process each round
  // trip waits a whole turn of the event loop, which timed the reads out (measured: every waiter's
  // poll in a 1,000-check burst).
  const opts: RedisOptions = {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    retryStrategy: (n: number) => Math.min(50 * n, 1_000),
    ...o.redisOptions,
    lazyConnect: false,
  };
  const redis = (o.client ? o.client.duplicate(opts) : new Redis(o.url as string, opts)) as Scripted;
  const scripts = {
    ecom9Read: [3, READ],
    ecom9Write: [3, WRITE],
    ecom9Fail: [3, FAIL],
    ecom9Renew: [1, RENEW],
    ecom9Release: [1, RELEASE],
    ecom9Drop: [2, DROP],
    ecom9Shorten: [1, SHORTEN],
  } as const;
  for (const [name, [numberOfKeys, lua]] of Object.entries(scripts)) redis.defineCommand(name, { numberOfKeys, lua });

  let gate: StoreAttachment | undefined;
  let skipUntil = 0;
  let failures = 0;
  let reported = false;
  let closing = false;

  const trouble = (err: unknown, counted: boolean) => {
    if (closing || !gate) return;
    if (counted) {
      gate.stats.inc('storeErrors');
      // One slow answer is a blip (a busy machine); a few in a row is an outage worth skipping Redis for.
      if (++failures >= FAILURES_TO_SKIP) skipUntil = performance.now() + o.retryAfterMs;
    }
    if (reported) return;
    reported = true;
    gate.report(new StoreUnavailableError(`ecom9-gate: Redis store unavailable, asking ecom9 directly until it is back: ${(err as Error)?.message ?? err}`));
  };
  const fine = () => {
    reported = false;
    failures = 0;
  };
  // Connection errors are reported (once per outage); a command's failure is also counted.
  redis.on('error', (err: unknown) => trouble(err, false));
  // Loaded on every connection (a restarted Redis has none), so no check pays the NOSCRIPT round trip.
  redis.on('ready', () => {
    fine();
    for (const [, lua] of Object.values(scripts)) redis.script('LOAD', lua).catch(() => {});
  });

  const usable = () => redis.status === 'ready' && performance.now() >= skipUntil;
  const keysOf = (ref: string, field: string) => {
    const hash = `${o.prefix}{${ref}}`;
    return { hash, gen: `${hash}:gen`, lock: `${hash}:lock:${field}` };
  };

  async function hold(
    g: StoreAttachment,
    k: ReturnType<typeof keysOf>,
    field: string,
    gen: string,
    token: string,
    load: () => Promise<{ value: unknown; denies: boolean }>,
  ): Promise<StoredFact> {
    let loaded: { value: unknown; denies: boolean };
    // A slow ecom9 keeps the lock (renewed while this process lives), so the others keep waiting for
    // this one call instead of each making their own; a process that dies stops renewing it.
    const renew = setInterval(() => void redis.ecom9Renew(k.lock, token, o.lockTtlMs).catch(() => {}), Math.max(o.lockTtlMs / 3, 1));
    renew.unref();
    try {
      loaded = await load();
    } catch (err) {
      redis.ecom9Fail(k.hash, k.gen, k.lock, token, Math.min(o.retryAfterMs, o.lockTtlMs)).catch((e: unknown) => trouble(e, true));
      throw err;
    } finally {
      clearInterval(renew);
    }
    const fetchedAt = Math.floor(g.now());
    const ttlMs = Math.max(loaded.denies ? g.denyTtlMs : g.ttlMs, 1);
    const expiresAt = fetchedAt + ttlMs;
    const raw = `${expiresAt}|${fetchedAt}|${loaded.denies ? 1 : 0}|${JSON.stringify(loaded.value)}`;
    // Not awaited: the check has its answer; the waiters see it on their next poll.
    redis.ecom9Write(k.hash, k.gen, k.lock, field, raw, gen, ttlMs, token).then(fine, (e: unknown) => trouble(e, true));
    return { value: loaded.value, denies: loaded.denies, fetchedAt, expiresAt };
  }

  return {
    get connected() {
      return usable();
    },
    health: () => (usable() ? 'ok' : 'failing'),
    attach(g) {
      if (gate) throw new ArgumentError('ecom9-gate: this redisStore already serves a gate; make one store per gate');
      gate = g;
    },
    async load(ref, field, load) {
      const g = gate;
      if (!g || !usable()) {
        g?.stats.inc('storeBypassed');
        return load();
      }
      const k = keysOf(ref, field);
      const token = randomUUID();
      // A holder that dies holds nobody past its lock's expiry: by then a poll takes the lock. A live
      // holder renews it; past this long, though, a waiter asks ecom9 itself.
      const deadline = performance.now() + MAX_WAIT_LOCKS * o.lockTtlMs;
      let waited = false;
      let poll = o.pollMs;
      for (;;) {
        let got: [string, string, string];
        try {
          const read = redis.ecom9Read(k.hash, k.gen, k.lock, field, token, o.lockTtlMs, Math.floor(g.now()));
          got = await bounded(read, o.timeoutMs).catch((err: unknown) => {
            // Given up on, but a paused Redis runs it when it resumes: a lock it takes then is released
            // at once, not left to stall the fleet for lockTtlMs with no holder.
            read.then(([, , state]) => (state === 'lock' ? redis.ecom9Release(k.lock, token) : 0)).catch(() => {});
            throw err;
          });
          fine();
        } catch (err) {
          trouble(err, true);
          return load();
        }
        const [raw, gen, state] = got;
        if (state === 'hit') {
          const fact = decode(raw);
          if (fact) {
            g.stats.inc('storeHits');
            return fact;
          }
          trouble(new Error('an unreadable entry'), true);
          return load();
        }
        if (state === 'lock') {
          g.stats.inc('storeMisses');
          return hold(g, k, field, gen, token, load);
        }
        if (state === 'failed' || performance.now() >= deadline || !usable()) return load();
        if (!waited) {
          waited = true;
          g.stats.inc('storeLockWaits');
        }
        await sleep(poll);
        // Backing off: a burst of cold checks makes hundreds of waiters, whose polls must not be what
        // slows Redis past the timeout.
        poll = Math.min(poll * 2, MAX_POLL_MS);
      }
    },
    shorten(ref, field, fetchedAt) {
      const g = gate;
      if (!g || !usable()) return;
      const k = keysOf(ref, field);
      redis.ecom9Shorten(k.hash, field, Math.floor(fetchedAt), Math.floor(fetchedAt) + Math.max(g.denyTtlMs, 1)).catch((e: unknown) => trouble(e, true));
    },
    holdLedger: ({ balanceTtlMs }) =>
      redisHoldLedger({ redis, prefix: o.prefix, usable, bounded: (p) => bounded(p, o.timeoutMs), now: () => (gate ?? { now: Date.now }).now(), balanceTtlMs }),
    async invalidate(ref) {
      // Tried even while reads are skipped: a delete that gets through is worth the wait.
      // Rejects when the delete is not confirmed: the generation was not bumped, so a fetch in flight
      // elsewhere could still write its answer back. The gate then answers the webhook 503 (ecom9 retries).
      if (redis.status !== 'ready') {
        trouble(new Error('not connected'), true);
        throw new StoreUnavailableError("ecom9-gate: the Redis store could not drop the account's facts (not connected)");
      }
      const k = keysOf(ref, '');
      try {
        await bounded(redis.ecom9Drop(k.hash, k.gen, GENERATION_TTL_MS), o.timeoutMs);
        fine();
      } catch (err) {
        trouble(err, true);
        throw new StoreUnavailableError("ecom9-gate: the Redis store could not drop the account's facts", { cause: err });
      }
    },
    async close() {
      closing = true;
      // Lets the answers being written land, but never waits on a Redis that does not answer.
      await Promise.race([redis.quit().catch(() => {}), sleep(Math.max(o.timeoutMs * 4, 200))]);
      redis.disconnect();
    },
  };
}
