// Where Idempotency-Keys live: the interface a store keeps (in memory here; the fleet's Redis in
// src/redis/idempotency-store.ts) and the memory store. Two lru-caches: the keys (small: a
// fingerprint and a state), and the kept responses (bounded in bytes). A response dropped for room
// leaves its key behind, so a reuse is answered 409 rather than run again.
import { LRUCache } from 'lru-cache';

/** A completed response as kept for replay. */
export interface KeptResponse {
  status: number;
  headers: [string, string][];
  body: Uint8Array;
}

/** What a store says of a key it is asked to claim. */
export type IdempotencyClaim =
  | { outcome: 'new'; token: string }
  | { outcome: 'replay'; response: KeptResponse }
  | { outcome: 'mismatch' }
  | { outcome: 'in_flight' }
  | { outcome: 'not_replayable' }
  /** The store could not be asked (Redis down): nothing may run, nothing is kept. */
  | { outcome: 'unavailable' };

/** Where Idempotency-Keys are kept: in each instance's memory, or for the fleet (`FactStore.idempotencyStore`). */
export interface IdempotencyStore {
  /** Claims `key` for a request of fingerprint `fp` (in flight), or says what it already holds. */
  claim(key: string, fp: string): Promise<IdempotencyClaim>;
  /** The request holding `token` completed: keep its response for `ttlMs` (`undefined`: kept as not replayable). */
  complete(key: string, token: string, response: KeptResponse | undefined): Promise<void>;
  /** The request holding `token` did no paid work (denied, or failed before it): the key is free again. */
  release(key: string, token: string): Promise<void>;
}

export interface IdempotencyLimits {
  ttlMs: number;
  max: number;
  maxMemoryBytes: number;
  now: () => number;
}

type KeyState = { fp: string; state: 'in_flight'; token: string } | { fp: string; state: 'done' | 'unreplayable' };

export function memoryIdempotencyStore(o: IdempotencyLimits): IdempotencyStore {
  const perf = { now: o.now };
  const keys = new LRUCache<string, KeyState>({ max: o.max, ttl: o.ttlMs, ttlResolution: 0, perf });
  const responses = new LRUCache<string, KeptResponse>({
    maxSize: o.maxMemoryBytes,
    sizeCalculation: (r) => Math.max(1, r.body.byteLength + r.headers.reduce((n, [k, v]) => n + k.length + v.length, 16)),
    ttl: o.ttlMs,
    ttlResolution: 0,
    perf,
  });
  return {
    async claim(key, fp) {
      const k = keys.get(key);
      if (k === undefined) {
        const token = crypto.randomUUID();
        keys.set(key, { fp, state: 'in_flight', token });
        responses.delete(key);
        return { outcome: 'new', token };
      }
      if (k.fp !== fp) return { outcome: 'mismatch' };
      if (k.state === 'in_flight') return { outcome: 'in_flight' };
      const r = k.state === 'done' ? responses.get(key) : undefined;
      return r ? { outcome: 'replay', response: r } : { outcome: 'not_replayable' };
    },
    async complete(key, token, response) {
      const k = keys.get(key);
      if (k?.state !== 'in_flight' || k.token !== token) return;
      keys.set(key, { fp: k.fp, state: response ? 'done' : 'unreplayable' });
      if (response) responses.set(key, response);
    },
    async release(key, token) {
      const k = keys.get(key);
      if (k?.state === 'in_flight' && k.token === token) keys.delete(key);
    },
  };
}
