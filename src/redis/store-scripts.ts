// The Redis side of redisStore: its Lua scripts, registered on a connection, and how a fact is
// written in the account's hash (`expiresAt|fetchedAt|denies|json`, times on the gate's clock).
import type { Redis } from 'ioredis';
import type { StoredFact } from '../gate/public-options';

// KEYS: the account's hash, its generation, the fact's lock. A hit is a fact whose expiry (the first
// field) is still ahead and, for a refresh, that was fetched after the copy being refreshed (ARGV[5];
// -1 otherwise); else the caller takes the lock, or is told to wait, or that the holder failed (then
// it asks ecom9 itself rather than queue behind it).
const READ = `
local v = redis.call('HGET', KEYS[1], ARGV[1])
local gen = redis.call('GET', KEYS[2]) or '0'
if v then
  local e, f = string.match(v, '^(%d+)|(%d+)|')
  if e and tonumber(e) > tonumber(ARGV[4]) and tonumber(f) > tonumber(ARGV[5]) then return {v, gen, 'hit'} end
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

/** A connection with the store's scripts defined on it. */
export interface Scripted extends Redis {
  ecom9Read(hash: string, gen: string, lock: string, field: string, token: string, lockTtlMs: Arg, now: Arg, newerThan: Arg): Promise<[string, string, string]>;
  ecom9Write(hash: string, gen: string, lock: string, field: string, raw: string, seenGen: string, ttlMs: Arg, token: string): Promise<number>;
  ecom9Fail(hash: string, gen: string, lock: string, token: string, ms: Arg): Promise<number>;
  ecom9Renew(lock: string, token: string, ms: Arg): Promise<number>;
  ecom9Release(lock: string, token: string): Promise<number>;
  ecom9Drop(hash: string, gen: string, ms: Arg): Promise<number>;
  ecom9Shorten(hash: string, field: string, fetchedAt: Arg, expiresAt: Arg): Promise<number>;
}

const SCRIPTS = {
  ecom9Read: [3, READ],
  ecom9Write: [3, WRITE],
  ecom9Fail: [3, FAIL],
  ecom9Renew: [1, RENEW],
  ecom9Release: [1, RELEASE],
  ecom9Drop: [2, DROP],
  ecom9Shorten: [1, SHORTEN],
} as const;

/** Defines the scripts on `redis`, and loads them on every connection (a restarted Redis has none), so no check pays NOSCRIPT. */
export function defineScripts(redis: Redis): Scripted {
  for (const [name, [numberOfKeys, lua]] of Object.entries(SCRIPTS)) redis.defineCommand(name, { numberOfKeys, lua });
  redis.on('ready', () => {
    for (const [, lua] of Object.values(SCRIPTS)) redis.script('LOAD', lua).catch(() => {});
  });
  return redis as Scripted;
}

/** The keys of one fact: the account's hash (one DEL drops every fact), its generation and the fact's lock. */
export function keysOf(prefix: string, ref: string, field: string) {
  const hash = `${prefix}{${ref}}`;
  return { hash, gen: `${hash}:gen`, lock: `${hash}:lock:${field}` };
}
export type FactKeys = ReturnType<typeof keysOf>;

const HEADER = /^(\d{1,16})\|(\d{1,16})\|([01])\|/;

export function encodeFact(expiresAt: number, fetchedAt: number, denies: boolean, value: unknown): string {
  return `${expiresAt}|${fetchedAt}|${denies ? 1 : 0}|${JSON.stringify(value)}`;
}

/** A stored fact, or undefined when the entry cannot be read. */
export function decodeFact(raw: string): StoredFact | undefined {
  const m = HEADER.exec(raw);
  if (!m) return undefined;
  try {
    return { expiresAt: Number(m[1]), fetchedAt: Number(m[2]), denies: m[3] === '1', value: JSON.parse(raw.slice(m[0].length)) };
  } catch {
    return undefined;
  }
}
