// Replay protection for webhooks: a transaction id is claimed once; a repeat is acknowledged but not
// processed again. In memory by default (bounded LRU with a TTL); the Redis bus supplies a shared one.
import { LRUCache } from 'lru-cache';

export interface ReplayGuard {
  /** True when the id was not seen before (and is now remembered). */
  claim(id: string): Promise<boolean> | boolean;
  /** Forgets an id whose processing failed, so the sender's retry is processed. */
  release(id: string): Promise<void> | void;
}

export function memoryReplayGuard(opts: { max: number; ttlMs: number; now: () => number }): ReplayGuard {
  const seen = new LRUCache<string, true>({ max: opts.max, ttl: Math.max(opts.ttlMs, 1), ttlResolution: 0, perf: { now: opts.now } });
  return {
    claim(id) {
      if (seen.has(id)) return false;
      seen.set(id, true);
      return true;
    },
    release(id) {
      seen.delete(id);
    },
  };
}
