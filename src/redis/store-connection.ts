// redisStore's connection and its health: one ioredis connection with no offline queue and no
// retries, every command bounded in time, and the outage rule (a failure sends the check to ecom9,
// three in a row skip Redis for retryAfterMs, the first success ends the outage, reported once).
import { Redis, type RedisOptions } from 'ioredis';
import type { StoreAttachment } from '../gate/public-options';
import { StoreUnavailableError } from '../shared/errors';
import { defineScripts, type Scripted } from './store-scripts';
import type { ParsedRedisStoreOptions } from './store-options';

const FAILURES_TO_SKIP = 3;

/**
 * `p`, or a rejection once `ms` have passed without its answer. Hand-written rather than ioredis's
 * `commandTimeout`: that timer fires in the event loop's timers phase, before the poll phase reads the
 * reply already waiting on the socket, so a busy process (a burst of checks on a loaded machine) timed
 * out answers that had come in time and sent the whole burst to ecom9. Here the timer only arms a
 * setImmediate, which runs after the poll phase: the command fails only if its reply has not arrived.
 */
export function bounded<T>(p: Promise<T>, ms: number): Promise<T> {
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

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The store's connection, with its scripts, and what the store knows of its health. */
export interface StoreConnection {
  readonly redis: Scripted;
  /** The gate served, once attached. */
  gate: StoreAttachment | undefined;
  /** Connected, and not skipped after failures in a row. */
  usable(): boolean;
  /** A failure: reported once per outage; `counted` (a command's, not the connection's) counts toward skipping Redis. */
  trouble(err: unknown, counted: boolean): void;
  /** A command succeeded: the outage, if any, is over. */
  fine(): void;
  close(): Promise<void>;
}

export function connectStore(o: ParsedRedisStoreOptions): StoreConnection {
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
  const redis = defineScripts(o.client ? o.client.duplicate(opts) : new Redis(o.url as string, opts));
  let skipUntil = 0;
  let failures = 0;
  let reported = false;
  let closing = false;

  const c: StoreConnection = {
    redis,
    gate: undefined,
    usable: () => redis.status === 'ready' && performance.now() >= skipUntil,
    trouble(err, counted) {
      const gate = c.gate;
      if (closing || !gate) return;
      if (counted) {
        gate.stats.inc('storeErrors');
        // One slow answer is a blip (a busy machine); a few in a row is an outage worth skipping Redis for.
        if (++failures >= FAILURES_TO_SKIP) skipUntil = performance.now() + o.retryAfterMs;
      }
      if (reported) return;
      reported = true;
      gate.report(new StoreUnavailableError(`ecom9-gate: Redis store unavailable, asking ecom9 directly until it is back: ${(err as Error)?.message ?? err}`));
    },
    fine() {
      reported = false;
      failures = 0;
    },
    async close() {
      closing = true;
      // Lets the answers being written land, but never waits on a Redis that does not answer.
      await Promise.race([redis.quit().catch(() => {}), sleep(Math.max(o.timeoutMs * 4, 200))]);
      redis.disconnect();
    },
  };
  // Connection errors are reported (once per outage); a command's failure is also counted.
  redis.on('error', (err: unknown) => c.trouble(err, false));
  redis.on('ready', () => c.fine());
  return c;
}
