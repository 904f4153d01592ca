// ecom9-gate/redis: invalidations fanned out to every instance over Redis pub/sub, and webhook
// replay dedupe shared through SET NX. Redis trouble never stops the gate: it keeps working on TTLs,
// reports once, reconnects, and once its subscription is live again drops what it cached while it
// could have missed an invalidation.
import { randomUUID } from 'node:crypto';
import { Redis, type RedisOptions } from 'ioredis';
import { z } from 'zod';
import type { BusSubscriber, InvalidationBus } from '../gate/public-options';
import { BusUnavailableError, OptionsError } from '../shared/errors';
import { memoryReplayGuard, type ReplayGuard } from '../webhooks/replay';
import { parseRedisBusOptions, type RedisBusOptions } from './options';
import { refuseOnEdge } from '../shared/runtime';

export type { RedisBusOptions } from './options';

const messageSchema = z.object({ ref: z.string().min(1).max(1024), origin: z.string().min(1).max(100) });

export interface RedisBus extends InvalidationBus {
  readonly replayGuard: ReplayGuard;
  /** True while the subscription is live (the server confirmed it on the current connection). */
  readonly connected: boolean;
  /** Disconnects the bus's own connections (never a client you passed in). */
  close(): Promise<void>;
}

export function redisBus(options: RedisBusOptions): RedisBus {
  refuseOnEdge('redisBus', 'ioredis', 'an isolate gives it no node:net socket to Redis');
  const o = parseRedisBusOptions(options);
  const origin = randomUUID();
  // Commands fail at once while Redis is away (no offline queue) and give up on a Redis that stops
  // answering (commandTimeout), so neither a publish nor the dedupe claim can hold a webhook.
  const cmdOpts: RedisOptions = { enableOfflineQueue: false, maxRetriesPerRequest: 1, commandTimeout: 1_000, ...o.redisOptions, lazyConnect: false };
  // The subscriber waits for Redis however long it takes; we subscribe on every 'ready' ourselves,
  // so "connected" (and the clear after an outage) follows the server's confirmation.
  const subOpts: RedisOptions = { ...cmdOpts, enableOfflineQueue: true, maxRetriesPerRequest: null, commandTimeout: undefined, autoResubscribe: false };
  // With `client`, both connections are duplicates: the user's client keeps its own (blocking) defaults.
  const connect = (opts: RedisOptions) => (o.client ? o.client.duplicate(opts) : new Redis(o.url as string, opts));
  const pub = connect(cmdOpts);
  const sub = connect(subOpts);
  const localGuard = memoryReplayGuard({ max: 10_000, ttlMs: o.dedupeTtlMs, now: Date.now });

  let subscriber: BusSubscriber | undefined;
  let pending: unknown; // trouble seen before a gate subscribed, reported when one does
  let connected = false;
  let everConnected = false;
  let startedDown = false;
  let generation = 0; // bumped on every close, so a late confirmation from an old connection is ignored
  let troubleReported = false;
  let closing = false;
  const trouble = (err: unknown) => {
    if (closing) return;
    if (!subscriber) {
      pending ??= err;
      return;
    }
    subscriber.stats.inc('busErrors');
    if (troubleReported) return;
    troubleReported = true;
    subscriber.report(new BusUnavailableError(`ecom9-gate: Redis bus unavailable, falling back to TTLs until it is back: ${(err as Error)?.message ?? err}`));
  };
  // Counted and reported once per lost connection, and once (not per retry) when Redis is down at start-up.
  const down = (err: unknown) => {
    if (connected) {
      connected = false;
      trouble(err);
    } else if (!everConnected && !startedDown) {
      startedDown = true;
      trouble(err);
    }
  };
  pub.on('error', () => {});
  sub.on('error', down);
  sub.on('close', () => {
    generation++;
    down(new Error('connection closed'));
  });
  sub.on('ready', () => {
    const g = generation;
    sub.subscribe(o.channel).then(
      () => {
        if (closing || g !== generation) return;
        // Anything cached while the subscription was not live may have missed an invalidation.
        const missed = everConnected || startedDown;
        everConnected = true;
        connected = true;
        troubleReported = false;
        if (missed) subscriber?.clear();
      },
      (err: unknown) => {
        if (g === generation) trouble(err);
      },
    );
  });
  sub.on('message', (ch: string, raw: string) => {
    if (ch !== o.channel) return;
    let msg: z.infer<typeof messageSchema>;
    try {
      msg = messageSchema.parse(JSON.parse(raw));
    } catch {
      return;
    }
    if (msg.origin !== origin) subscriber?.invalidate(msg.ref);
  });

  return {
    get connected() {
      return connected;
    },
    async publish(ref) {
      try {
        await pub.publish(o.channel, JSON.stringify({ ref, origin }));
      } catch (err) {
        // Counted and reported (once) here; the other instances fall back to their TTLs.
        trouble(err);
      }
    },
    subscribe(s) {
      if (subscriber) throw new OptionsError('ecom9-gate: this redisBus already serves a gate; make one bus per gate');
      subscriber = s;
      if (pending !== undefined) trouble(pending);
      pending = undefined;
    },
    replayGuard: {
      async claim(id) {
        try {
          return (await pub.set(o.keyPrefix + id, '1', 'PX', o.dedupeTtlMs, 'NX')) === 'OK';
        } catch (err) {
          trouble(err);
          return localGuard.claim(id);
        }
      },
      async release(id) {
        localGuard.release(id);
        try {
          await pub.del(o.keyPrefix + id);
        } catch (err) {
          trouble(err);
        }
      },
    },
    async close() {
      closing = true;
      sub.disconnect();
      pub.disconnect();
    },
  };
}

export { redisStore, type RedisStore, type RedisStoreOptions } from './store';
// Every core type (src/types.ts), so a type this subpath's signatures name (and what those name in
// turn) is imported from here as from ecom9-gate.
export type * from '../types';
