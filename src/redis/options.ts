// redisBus's options: one zod schema, checked when the bus is made. A wrong or unknown option throws
// a TypeError that names it and never echoes its value (a Redis URL may carry a password).
import type { Redis, RedisOptions } from 'ioredis';
import { z } from 'zod';
import { OPTION_DEFAULTS } from '../shared/defaults';
import { connectionShape, parseConnected, positiveInt } from './connection-options';

export interface RedisBusOptions {
  /** e.g. 'redis://127.0.0.1:6379' or 'rediss://...'. Either this or `client`. */
  url?: string;
  /**
   * An ioredis client of yours. The bus duplicates it (one connection for its subscription, one for
   * its commands, both with the bus's own timeouts) and never closes or reconfigures yours.
   */
  client?: Redis;
  /** The pub/sub channel every instance of the service shares. @default 'ecom9-gate' */
  channel?: string;
  /** Prefix of the webhook dedupe keys. @default `${channel}:webhook:` */
  keyPrefix?: string;
  /** How long a webhook transaction id is remembered, in ms (a positive integer). @default 86_400_000 (a day) */
  dedupeTtlMs?: number;
  /**
   * Extra ioredis options for the connections the bus makes. Commands are sent with no offline queue
   * and `commandTimeout: 1000`, so a Redis that is down or stops answering never holds a webhook.
   */
  redisOptions?: RedisOptions;
}

const schema = z
  .object({
    ...connectionShape,
    channel: z.string().min(1, 'must be a non-empty string').max(256).default('ecom9-gate'),
    keyPrefix: z.string().min(1, 'must be a non-empty string').max(256).optional(),
    dedupeTtlMs: positiveInt.default(OPTION_DEFAULTS.webhooks.dedupeTtlMs),
  })
  .strict();

export type ParsedRedisBusOptions = Omit<z.output<typeof schema>, 'keyPrefix' | 'redisOptions'> & {
  keyPrefix: string;
  redisOptions: RedisOptions;
};

/** Validates redisBus options and fills in the defaults; throws a TypeError naming the bad option. */
export function parseRedisBusOptions(input: unknown): ParsedRedisBusOptions {
  const o = parseConnected('redisBus', schema, input);
  return { ...o, keyPrefix: o.keyPrefix ?? `${o.channel}:webhook:` };
}
