// redisStore's options: one zod schema, checked when the store is made. A wrong or unknown option
// throws a TypeError that names it and never echoes its value (a Redis URL may carry a password).
import type { Redis, RedisOptions } from 'ioredis';
import { z } from 'zod';
import { connectionShape, parseConnected, positiveInt } from './connection-options';

export interface RedisStoreOptions {
  /** e.g. 'redis://127.0.0.1:6379' or 'rediss://...'. Either this or `client`. */
  url?: string;
  /** An ioredis client of yours. The store duplicates it (with its own timeouts) and never closes or reconfigures yours. */
  client?: Redis;
  /** Prefix of every key the store writes; one per service sharing a Redis. @default 'ecom9-gate:' */
  prefix?: string;
  /**
   * The most a Redis command may add to a check, in ms: past it the instance asks ecom9 itself (and,
   * after three such failures in a row, skips Redis for `retryAfterMs`). @default 50
   */
  timeoutMs?: number;
  /**
   * How long the fleet's lock on one upstream call lives unless renewed, in ms: the instance making
   * the call renews it while it waits for ecom9, so one that dies mid-fetch holds the others back no
   * longer than this. Waiters give up and ask ecom9 themselves after ten times this. @default 2_000
   */
  lockTtlMs?: number;
  /** How soon an instance waiting for another's upstream call first looks for its answer, in ms (then backing off to 100 ms). @default 10 */
  pollMs?: number;
  /** After three Redis failures in a row, how long the instance goes to ecom9 directly before trying Redis again, in ms. @default 1_000 */
  retryAfterMs?: number;
  /** Extra ioredis options for the connection the store makes. */
  redisOptions?: RedisOptions;
}

const schema = z
  .object({
    ...connectionShape,
    prefix: z.string().min(1, 'must be a non-empty string').max(256).default('ecom9-gate:'),
    timeoutMs: positiveInt.max(10_000).default(50),
    lockTtlMs: positiveInt.max(60_000).default(2_000),
    pollMs: positiveInt.max(1_000).default(10),
    retryAfterMs: positiveInt.max(60_000).default(1_000),
  })
  .strict();

export type ParsedRedisStoreOptions = Omit<z.output<typeof schema>, 'redisOptions'> & { redisOptions: RedisOptions };

/** Validates redisStore options and fills in the defaults; throws a TypeError naming the bad option. */
export function parseRedisStoreOptions(input: unknown): ParsedRedisStoreOptions {
  return parseConnected('redisStore', schema, input);
}
