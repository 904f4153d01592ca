// Idempotency-Keys shared by the fleet, on the redisStore's own connection: a retry that lands on
// another instance is refused or replayed there too. One hash per key: its fingerprint, its state
// and, once completed, the response to replay. The in-flight claim is SET-NX-like (the hash is
// created only when absent) with a lease the holder renews while its request runs, so a holder that
// dies frees the key after LEASE_MS; a completed key lives ttlMs. Redis down or slow: the claim
// answers `unavailable` (the request is refused 503), never a run that could not be recorded.
import type { Redis } from 'ioredis';
import type { IdempotencyClaim, IdempotencyStore, KeptResponse } from '../idempotency/store';
import { StoreUnavailableError } from '../shared/errors';

const unavailable = (what: string, cause: unknown) =>
  new StoreUnavailableError(`ecom9-gate: the Redis store could not ${what} an Idempotency-Key: ${(cause as Error)?.message ?? cause}`, { cause });

/** How long an in-flight claim lives unless renewed (renewed every third of it while the request runs). */
export const LEASE_MS = 30_000;

const CLAIM = `
local fp = redis.call('HGET', KEYS[1], 'fp')
if not fp then
  redis.call('HSET', KEYS[1], 'fp', ARGV[1], 'state', 'in_flight', 'token', ARGV[2])
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
  return {'new'}
end
if fp ~= ARGV[1] then return {'mismatch'} end
local state = redis.call('HGET', KEYS[1], 'state')
if state == 'done' then
  local r = redis.call('HMGET', KEYS[1], 'status', 'headers', 'body')
  return {'replay', r[1], r[2], r[3]}
end
return {state}`;

const COMPLETE = `
if redis.call('HGET', KEYS[1], 'token') ~= ARGV[1] or redis.call('HGET', KEYS[1], 'state') ~= 'in_flight' then return 0 end
if ARGV[3] == '' then
  redis.call('HSET', KEYS[1], 'state', 'unreplayable')
else
  redis.call('HSET', KEYS[1], 'state', 'done', 'status', ARGV[3], 'headers', ARGV[4], 'body', ARGV[5])
end
redis.call('HDEL', KEYS[1], 'token')
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1`;

const RENEW = `
if redis.call('HGET', KEYS[1], 'token') == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0`;

const RELEASE = `
if redis.call('HGET', KEYS[1], 'token') == ARGV[1] and redis.call('HGET', KEYS[1], 'state') == 'in_flight' then return redis.call('DEL', KEYS[1]) end
return 0`;

interface Scripted extends Redis {
  ecom9IdemClaimBuffer(key: string, fp: string, token: string, leaseMs: number): Promise<Buffer[]>;
  ecom9IdemComplete(key: string, token: string, ttlMs: number, status: string, headers: string, body: Buffer | string): Promise<number>;
  ecom9IdemRenew(key: string, token: string, leaseMs: number): Promise<number>;
  ecom9IdemRelease(key: string, token: string): Promise<number>;
}

export interface RedisIdempotencyOptions {
  prefix: string;
  /** How long a completed key is kept, in ms (the gate's `idempotency.ttlMs`). */
  ttlMs: number;
  /** The most a claim may wait for Redis, in ms, before the request is refused 503. */
  timeoutMs: number;
  report: (err: unknown) => void;
}

function within<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`Redis did not answer within ${ms} ms`)), ms);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

/** The fleet's idempotency store over an ioredis connection it does not own. */
export function redisIdempotencyStore(connection: Redis, o: RedisIdempotencyOptions): IdempotencyStore {
  const redis = connection as Scripted;
  redis.defineCommand('ecom9IdemClaim', { numberOfKeys: 1, lua: CLAIM });
  redis.defineCommand('ecom9IdemComplete', { numberOfKeys: 1, lua: COMPLETE });
  redis.defineCommand('ecom9IdemRenew', { numberOfKeys: 1, lua: RENEW });
  redis.defineCommand('ecom9IdemRelease', { numberOfKeys: 1, lua: RELEASE });
  const keyOf = (scope: string) => `${o.prefix}idem:${scope}`;
  const renewals = new Map<string, ReturnType<typeof setInterval>>();
  const stopRenewing = (k: string) => {
    clearInterval(renewals.get(k));
    renewals.delete(k);
  };

  return {
    async claim(scope, fp): Promise<IdempotencyClaim> {
      const k = keyOf(scope);
      const token = crypto.randomUUID();
      let r: Buffer[];
      try {
        r = await within(redis.ecom9IdemClaimBuffer(k, fp, token, LEASE_MS), o.timeoutMs);
      } catch (err) {
        o.report(unavailable('claim', err));
        return { outcome: 'unavailable' };
      }
      const outcome = String(r[0]);
      if (outcome === 'new') {
        const t = setInterval(() => void redis.ecom9IdemRenew(k, token, LEASE_MS).catch(() => {}), LEASE_MS / 3);
        t.unref?.();
        renewals.set(k, t);
        return { outcome, token };
      }
      if (outcome === 'replay') {
        try {
          const response: KeptResponse = {
            status: Number(String(r[1])),
            headers: JSON.parse(String(r[2])) as [string, string][],
            body: new Uint8Array(r[3] as Buffer),
          };
          return { outcome, response };
        } catch (err) {
          o.report(err);
          return { outcome: 'not_replayable' };
        }
      }
      if (outcome === 'mismatch' || outcome === 'in_flight') return { outcome };
      return { outcome: 'not_replayable' };
    },
    async complete(scope, token, response) {
      const k = keyOf(scope);
      stopRenewing(k);
      const body = response ? Buffer.from(response.body.buffer, response.body.byteOffset, response.body.byteLength) : '';
      // An empty status marks a response not kept. A failure here leaves the claim to its lease: the
      // key is then free again after LEASE_MS (reported: a retry after that would run again).
      await within(
        redis.ecom9IdemComplete(k, token, o.ttlMs, response ? String(response.status) : '', response ? JSON.stringify(response.headers) : '', body),
        Math.max(o.timeoutMs, 1_000),
      ).catch((err: unknown) => {
        throw unavailable('keep the response of', err);
      });
    },
    async release(scope, token) {
      const k = keyOf(scope);
      stopRenewing(k);
      await within(redis.ecom9IdemRelease(k, token), Math.max(o.timeoutMs, 1_000)).catch((err: unknown) => {
        throw unavailable('release', err);
      });
    },
  };
}
