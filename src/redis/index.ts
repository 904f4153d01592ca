// ecom9-gate/redis: invalidations fanned out to every instance over Redis pub/sub, and webhook
// replay dedupe shared through SET NX. Redis trouble never stops the gate: it keeps working on TTLs,
// reports once, reconnects, and after a reconnect drops what it cached while it could have missed
// an invalidation.
import { randomUUID } from 'node:crypto';
import { Redis, type RedisOptions } from 'ioredis';
import { z } from 'zod';
import type { BusSubscriber, InvalidationBus } from '../gate/public-options';
import { memoryReplayGuard, type ReplayGuard } from '../webhooks/replay';
import { parseRedisBusOptions, type RedisBusOptions } from './options';

export type { RedisBusOptions } from './options';

const messageSchema = z.object({ ref: z.string().min(1).max(1024), origin: z.string().min(1).max(100) });

export interface RedisBus extends InvalidationBus {
  readonly replayGuard: ReplayGuard;
  /** True while the subscription is live. */
  readonly connected: boolean;
  /** Disconnects the bus's own connections (never a client you passed in). */
  close(): Promise<void>;
}

export function redisBus(options: RedisBusOptions): RedisBus {
  const o = parseRedisBusOptions(options);
  const { channel, keyPrefix, dedupeTtlMs } = o;
  const origin = randomUUID();
  // Commands fail at once while Redis is away (no offline queue), so a publish never hangs a webhook.
  const connOpts: RedisOptions = { enableOfflineQueue: false, maxRetriesPerRequest: 1, ...o.redisOptions };
  const ownsPub = o.client === undefined;
  const pub = o.client ?? new Redis(o.url as string, connOpts);
  const sub = o.client ? o.client.duplicate(connOpts) : new Redis(o.url as string, { ...connOpts, enableOfflineQueue: true });
  const localGuard = memoryReplayGuard({ max: 10_000, ttlMs: dedupeTtlMs, now: Date.now });

  let subscriber: BusSubscriber | undefined;
  let connected = false;
  let everReady = false;
  let troubleReported = false;
  let closing = false;
  const trouble = (err: unknown) => {
    if (closing) return;
    subscriber?.stats.inc('busErrors');
    if (troubleReported) return;
    troubleReported = true;
    subscriber?.report(new Error(`ecom9-gate: Redis bus unavailable, falling back to TTLs until it is back: ${(err as Error)?.message ?? err}`));
  };
  pub.on('error', () => {});
  sub.on('error', (err) => {
    if (connected) trouble(err);
  });
  sub.on('close', () => {
    if (connected) trouble(new Error('connection closed'));
    connected = false;
  });
  sub.on('ready', () => {
    // ioredis re-subscribes on reconnect; anything cached meanwhile may have missed an invalidation.
    if (everReady) subscriber?.clear();
    everReady = true;
    connected = true;
    troubleReported = false;
  });
  sub.on('message', (ch: string, raw: string) => {
    if (ch !== channel) return;
    let msg: z.infer<typeof messageSchema>;
    try {
      msg = messageSchema.parse(JSON.parse(raw));
    } catch {
      return;
    }
    if (msg.origin !== origin) subscriber?.invalidate(msg.ref);
  });
  sub.subscribe(channel).catch(trouble);

  return {
    get connected() {
      return connected;
    },
    async publish(ref) {
      try {
        await pub.publish(channel, JSON.stringify({ ref, origin }));
      } catch (err) {
        // Counted and reported (once) here; the other instances fall back to their TTLs.
        trouble(err);
      }
    },
    subscribe(s) {
      if (subscriber) throw new TypeError('ecom9-gate: this redisBus already serves a gate; make one bus per gate');
      subscriber = s;
    },
    replayGuard: {
      async claim(id) {
        try {
          return (await pub.set(keyPrefix + id, '1', 'PX', dedupeTtlMs, 'NX')) === 'OK';
        } catch (err) {
          trouble(err);
          return localGuard.claim(id);
        }
      },
      async release(id) {
        localGuard.release(id);
        try {
          await pub.del(keyPrefix + id);
        } catch (err) {
          trouble(err);
        }
      },
    },
    async close() {
      closing = true;
      sub.disconnect();
      if (ownsPub) pub.disconnect();
    },
  };
}
