// One upstream call for the fleet: a load reads the fact or takes its lock (SET NX PX); the holder
// asks ecom9, renewing the lock while it waits, and writes the answer; the others poll, backing off,
// until the answer is there, the holder failed, or they have waited long enough to ask ecom9
// themselves. Waiting is a short poll rather than pub/sub: it needs no second connection per
// instance, and a holder that died is noticed the same way (its lock expires and a poll takes it).
import { randomUUID } from 'node:crypto';
import type { StoreAttachment, StoredFact } from '../gate/public-options';
import { bounded, sleep, type StoreConnection } from './store-connection';
import { decodeFact, encodeFact, keysOf, type FactKeys } from './store-scripts';
import type { ParsedRedisStoreOptions } from './store-options';

type Load = () => Promise<{ value: unknown; denies: boolean }>;

const MAX_WAIT_LOCKS = 10;
const MAX_POLL_MS = 100;

/** The fact from Redis, else from `load` once for the fleet; Redis's own trouble falls back to `load`. */
export async function loadOnce(
  c: StoreConnection,
  o: ParsedRedisStoreOptions,
  g: StoreAttachment,
  ref: string,
  field: string,
  load: Load,
  newerThan = -1,
): Promise<StoredFact> {
  const { redis } = c;
  const k = keysOf(o.prefix, ref, field);
  const token = randomUUID();
  // A holder that dies holds nobody past its lock's expiry: by then a poll takes the lock. A live
  // holder renews it; past this long, though, a waiter asks ecom9 itself.
  const deadline = performance.now() + MAX_WAIT_LOCKS * o.lockTtlMs;
  let waited = false;
  let poll = o.pollMs;
  for (;;) {
    let got: [string, string, string];
    try {
      const read = redis.ecom9Read(k.hash, k.gen, k.lock, field, token, o.lockTtlMs, Math.floor(g.now()), Math.floor(newerThan));
      got = await bounded(read, o.timeoutMs).catch((err: unknown) => {
        // Given up on, but a paused Redis runs it when it resumes: a lock it takes then is released
        // at once, not left to stall the fleet for lockTtlMs with no holder.
        read.then(([, , state]) => (state === 'lock' ? redis.ecom9Release(k.lock, token) : 0)).catch(() => {});
        throw err;
      });
      c.fine();
    } catch (err) {
      c.trouble(err, true);
      return load();
    }
    const [raw, gen, state] = got;
    if (state === 'hit') {
      const fact = decodeFact(raw);
      if (fact) {
        g.stats.inc('storeHits');
        return fact;
      }
      c.trouble(new Error('an unreadable entry'), true);
      return load();
    }
    if (state === 'lock') {
      g.stats.inc('storeMisses');
      return hold(c, o, g, k, field, gen, token, load);
    }
    if (state === 'failed' || performance.now() >= deadline || !c.usable()) return load();
    if (!waited) {
      waited = true;
      g.stats.inc('storeLockWaits');
    }
    await sleep(poll);
    // Backing off: a burst of cold checks makes hundreds of waiters, whose polls must not be what
    // slows Redis past the timeout.
    poll = Math.min(poll * 2, MAX_POLL_MS);
  }
}

/** The lock's holder: asks ecom9 and writes the answer, unless an invalidation came meanwhile. */
async function hold(
  c: StoreConnection,
  o: ParsedRedisStoreOptions,
  g: StoreAttachment,
  k: FactKeys,
  field: string,
  gen: string,
  token: string,
  load: Load,
): Promise<StoredFact> {
  const { redis } = c;
  let loaded: { value: unknown; denies: boolean };
  // A slow ecom9 keeps the lock (renewed while this process lives), so the others keep waiting for
  // this one call instead of each making their own; a process that dies stops renewing it.
  const renew = setInterval(() => void redis.ecom9Renew(k.lock, token, o.lockTtlMs).catch(() => {}), Math.max(o.lockTtlMs / 3, 1));
  renew.unref();
  try {
    loaded = await load();
  } catch (err) {
    redis.ecom9Fail(k.hash, k.gen, k.lock, token, Math.min(o.retryAfterMs, o.lockTtlMs)).catch((e: unknown) => c.trouble(e, true));
    throw err;
  } finally {
    clearInterval(renew);
  }
  const fetchedAt = Math.floor(g.now());
  const ttlMs = Math.max(loaded.denies ? g.denyTtlMs : g.ttlMs, 1);
  const expiresAt = fetchedAt + ttlMs;
  // Not awaited: the check has its answer; the waiters see it on their next poll.
  redis.ecom9Write(k.hash, k.gen, k.lock, field, encodeFact(expiresAt, fetchedAt, loaded.denies, loaded.value), gen, ttlMs, token).then(
    () => c.fine(),
    (e: unknown) => c.trouble(e, true),
  );
  return { value: loaded.value, denies: loaded.denies, fetchedAt, expiresAt };
}
