// The fleet's hold ledger, on the redisStore's connection: one hash per account, product and meter
// holds the balance view every instance judges holds against and every open hold, and one Lua script
// grants a hold only if that balance less the open holds covers it, so N instances sharing a balance
// B grant at most ⌊B/q⌋ holds of q. The rules are MemoryLedger's (src/gate/hold-ledger.ts), run inside
// Redis: a fetched balance less what was debited while it was fetched, each debit lowering the view
// to the lower of what was expected and ecom9's remaining_balance, expired holds dropped on read.
// Redis down, slow or skipped: every call rejects with HoldLedgerUnavailableError and the gate
// refuses the hold (failMode 'closed') or counts it in its own process ('open'); see docs/credits.md.
import type { Redis } from 'ioredis';
import type { HoldLedger, HoldScope, ReserveAnswer, ReserveAsk } from '../gate/hold-ledger';
import { HoldLedgerUnavailableError } from '../shared/errors';

// KEYS: the scope's hash, the account's epoch (bumped by an invalidation). Fields: b (balance),
// bt (when fetched), be (the epoch it was fetched in), d (everything debited), h:<key> = "q|expiresAt".
// Answers {'fetch', d, epoch} when the view is missing, stale or refresh is asked (ARGV[9] = '1'),
// else {source, granted, balance, held, ageMs}.
const RESERVE = `
local now = tonumber(ARGV[1])
local epoch = redis.call('GET', KEYS[2]) or '0'
local all = redis.call('HGETALL', KEYS[1])
local held, b, bt, be, d = 0, nil, 0, '', 0
local mine = 'h:' .. ARGV[3]
for i = 1, #all, 2 do
  local f, v = all[i], all[i + 1]
  if string.sub(f, 1, 2) == 'h:' then
    local q, e = string.match(v, '^(%d+)|(%d+)$')
    if not e or tonumber(e) <= now then redis.call('HDEL', KEYS[1], f)
    elseif f ~= mine then held = held + tonumber(q) end
  elseif f == 'b' then b = tonumber(v)
  elseif f == 'bt' then bt = tonumber(v)
  elseif f == 'be' then be = v
  elseif f == 'd' then d = tonumber(v) end
end
local source = 'cache'
if ARGV[6] ~= '' then
  local since = d - tonumber(ARGV[7])
  if since < 0 then since = 0 end
  b = tonumber(ARGV[6]) - since
  bt = now
  redis.call('HSET', KEYS[1], 'b', b, 'bt', now, 'be', ARGV[10])
  source = 'upstream'
elseif b == nil or be ~= epoch or now - bt >= tonumber(ARGV[2]) or ARGV[9] == '1' then
  return {'fetch', tostring(d), epoch}
end
local granted = '0'
if b - held >= tonumber(ARGV[4]) then
  redis.call('HSET', KEYS[1], mine, ARGV[4] .. '|' .. ARGV[5])
  granted = '1'
end
if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[8]) then redis.call('PEXPIRE', KEYS[1], ARGV[8]) end
return {source, granted, tostring(b), tostring(held), tostring(now - bt)}`;

// A debit answered (ARGV[1] the hold's key, or '' for a debit outside holds): the hold's reservation
// ends and the view drops to the lower of what was expected and ecom9's remaining_balance (ARGV[3]).
const SETTLE = `
if ARGV[1] ~= '' then redis.call('HDEL', KEYS[1], 'h:' .. ARGV[1]) end
local debited = tonumber(ARGV[2])
if debited > 0 then redis.call('HINCRBY', KEYS[1], 'd', debited) end
local b = redis.call('HGET', KEYS[1], 'b')
if b then
  local nb = tonumber(b) - debited
  if ARGV[3] ~= '' and tonumber(ARGV[3]) < nb then nb = tonumber(ARGV[3]) end
  redis.call('HSET', KEYS[1], 'b', nb)
end
return 1`;

const RELEASE = `return redis.call('HDEL', KEYS[1], 'h:' .. ARGV[1])`;

const INVALIDATE = `
redis.call('INCR', KEYS[1])
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1`;

type Arg = string | number;
interface HoldScripted extends Redis {
  ecom9HoldReserve(hash: string, epoch: string, ...args: Arg[]): Promise<string[]>;
  ecom9HoldSettle(hash: string, key: string, debited: Arg, remaining: Arg): Promise<number>;
  ecom9HoldRelease(hash: string, key: string): Promise<number>;
  ecom9HoldInvalidate(epoch: string, ttlMs: Arg): Promise<number>;
}

export interface RedisHoldLedgerDeps {
  redis: Redis;
  prefix: string;
  /** Whether the store's connection may be used now (up, and not skipped after failures). */
  usable: () => boolean;
  /** Bounds one command by the store's timeoutMs. */
  bounded: <T>(p: Promise<T>) => Promise<T>;
  now: () => number;
  balanceTtlMs: number;
}

const EPOCH_TTL_MS = 24 * 60 * 60_000;
// A scope's hash outlives its last hold by this much, so its debit counter spans any fetch in flight.
const KEEP_MS = 60_000;

export function redisHoldLedger(d: RedisHoldLedgerDeps): HoldLedger {
  const redis = d.redis as HoldScripted;
  redis.defineCommand('ecom9HoldReserve', { numberOfKeys: 2, lua: RESERVE });
  redis.defineCommand('ecom9HoldSettle', { numberOfKeys: 1, lua: SETTLE });
  redis.defineCommand('ecom9HoldRelease', { numberOfKeys: 1, lua: RELEASE });
  redis.defineCommand('ecom9HoldInvalidate', { numberOfKeys: 1, lua: INVALIDATE });
  // Codes and refs may hold ':'; encoded, no two scopes share a key. The {ref} tag keeps an account's keys in one slot.
  const hashOf = (s: HoldScope) => `${d.prefix}{${s.ref}}:holds:${encodeURIComponent(s.product)}:${encodeURIComponent(s.meter)}`;
  const epochOf = (ref: string) => `${d.prefix}{${ref}}:holds-epoch`;

  async function run<T>(what: string, command: () => Promise<T>): Promise<T> {
    if (!d.usable()) throw new HoldLedgerUnavailableError(`ecom9-gate: the fleet's hold ledger (Redis) is unavailable: cannot ${what}`);
    try {
      return await d.bounded(command());
    } catch (err) {
      throw new HoldLedgerUnavailableError(`ecom9-gate: the fleet's hold ledger (Redis) failed to ${what}: ${(err as Error)?.message ?? err}`, { cause: err });
    }
  }

  return {
    async reserve(scope: HoldScope, ask: ReserveAsk, fetchBalance: () => Promise<number>): Promise<ReserveAnswer> {
      const hash = hashOf(scope);
      const epoch = epochOf(scope.ref);
      const call = (fresh: Arg, d0: Arg, refresh: boolean, fetchedEpoch: Arg) => {
        const now = Math.floor(d.now());
        const keep = Math.max(ask.expiresAt - now, d.balanceTtlMs) + KEEP_MS;
        return run('reserve a hold', () =>
          redis.ecom9HoldReserve(
            hash,
            epoch,
            now,
            d.balanceTtlMs,
            ask.key,
            ask.quantity,
            Math.floor(ask.expiresAt),
            fresh,
            d0,
            keep,
            refresh ? '1' : '0',
            fetchedEpoch,
          ),
        );
      };
      let got = await call('', 0, ask.refresh === true, '');
      if (got[0] === 'fetch') {
        const [, d0, fetchedEpoch] = got as [string, string, string];
        const balance = await fetchBalance();
        got = await call(balance, d0, false, fetchedEpoch);
      }
      const [source, granted, balance, held, age] = got;
      return {
        source: source === 'upstream' ? 'upstream' : 'cache',
        granted: granted === '1',
        balance: Number(balance),
        held: Number(held),
        ageMs: Number(age),
      };
    },
    async settled(scope, key, debited, remainingBalance) {
      await run('settle a hold', () => redis.ecom9HoldSettle(hashOf(scope), key, debited, remainingBalance ?? ''));
    },
    async release(scope, key) {
      await run('release a hold', () => redis.ecom9HoldRelease(hashOf(scope), key));
    },
    observe(scope, debited, remainingBalance) {
      void run('correct a balance', () => redis.ecom9HoldSettle(hashOf(scope), '', debited, remainingBalance ?? '')).catch(() => {});
    },
    invalidate(ref) {
      void run('drop a balance', () => redis.ecom9HoldInvalidate(epochOf(ref), EPOCH_TTL_MS)).catch(() => {});
    },
  };
}
