// What redisBus and redisStore both take to reach Redis (a url or your client, extra ioredis options),
// and the one way their options are checked: a TypeError naming the bad option, never its value (a
// Redis URL may carry a password).
import type { Redis, RedisOptions } from 'ioredis';
import { z } from 'zod';
import { describeIssues } from '../shared/describe-issues';
import { OptionsError } from '../shared/errors';

const plainObject = (message: string) => z.custom<object>((v) => typeof v === 'object' && v !== null && !Array.isArray(v), { message });

export const positiveInt = z.number().int('must be a positive integer').positive('must be a positive integer');

export const connectionShape = {
  url: z.url({ protocol: /^rediss?$/, error: 'must be a redis:// or rediss:// URL' }).optional(),
  client: z
    .custom<Redis>((v) => typeof v === 'object' && v !== null && typeof (v as { duplicate?: unknown }).duplicate === 'function', {
      message: 'expected an ioredis client',
    })
    .optional(),
  redisOptions: plainObject('expected an object of ioredis options').optional(),
};

/** Parses `input` for `name` (redisBus, redisStore): exactly one of url or client, redisOptions defaulted to {}. */
export function parseConnected<S extends z.ZodObject<typeof connectionShape & z.ZodRawShape>>(
  name: string,
  schema: S,
  input: unknown,
): Omit<z.output<S>, 'redisOptions'> & { redisOptions: RedisOptions } {
  if (typeof input !== 'object' || input === null) throw new OptionsError(`ecom9-gate: ${name}(options) expects an options object`);
  const result = schema.safeParse(input);
  if (!result.success) throw new OptionsError(`ecom9-gate: invalid ${name} options: ${describeIssues(result.error.issues, schema)}`);
  const o = result.data as z.output<S> & { url?: string; client?: Redis; redisOptions?: object };
  if ((o.url === undefined) === (o.client === undefined)) throw new OptionsError(`ecom9-gate: ${name} needs exactly one of "url" or "client"`);
  return { ...o, redisOptions: (o.redisOptions ?? {}) as RedisOptions };
}
