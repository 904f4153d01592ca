// An Idempotency-Key on paid work, as the IETF draft "The Idempotency-Key HTTP Header Field" (and
// Stripe) have it: the first request with a key runs; a reuse with another request is 422; a reuse
// while the first runs is 409; a reuse after it completed gets its response again (same status,
// same body bytes), without running or charging anything. A response too large to keep, or one
// that never completed, makes a reuse 409: never a second run.
import { idempotencyScope } from './fingerprint';
import type { IdempotencyStore, KeptResponse } from './store';

export interface IdempotencyConfig {
  /** The largest response body kept for a replay, in bytes. */
  maxBodyBytes: number;
}

/** The header on a replayed response. */
export const REPLAYED_HEADER = 'idempotent-replayed';

/**
 * Response headers kept with a replay: what describes the body and where it points. Never
 * Set-Cookie (a session must not be handed out again) nor per-response ones (Date, Content-Length).
 */
const KEPT = new Set([
  'content-type',
  'content-language',
  'content-disposition',
  'content-encoding',
  'location',
  'cache-control',
  'etag',
  'last-modified',
  'link',
]);

/** What the framework's binding captured of the finished response. */
export interface CapturedResponse {
  status: number;
  headers: Iterable<[string, unknown]>;
  /** The body's bytes as sent; `undefined` when it streamed past maxBodyBytes or never completed. */
  body: Uint8Array | undefined;
}

/** The headers a replay answers with: the kept ones, then the replay marker. */
export function replayHeaders(r: KeptResponse): [string, string][] {
  return [...r.headers, [REPLAYED_HEADER, 'true']];
}

export type Begin =
  /** Run the request; call `complete` with its response once it is finished, or `release` if it did no paid work. */
  { kind: 'run'; complete(r: CapturedResponse): void; release(): void } | { kind: 'replay'; response: KeptResponse } | { kind: 'deny'; code: KeyRefusal };

/** Why a key refuses a request (each a Decision code: src/middleware/idempotent.ts answers it). */
export type KeyRefusal =
  | 'idempotency_key_mismatch'
  | 'idempotency_key_in_flight'
  | 'idempotency_key_not_replayable'
  | 'idempotency_unavailable'
  | 'idempotency_key_invalid';

export class IdempotencyKeeper {
  constructor(
    private readonly store: IdempotencyStore,
    private readonly cfg: IdempotencyConfig,
    private readonly report: (err: unknown) => void,
  ) {}

  /** The largest response body kept for a replay, in bytes. */
  get maxBodyBytes(): number {
    return this.cfg.maxBodyBytes;
  }

  /** Claims (namespace, account, key) for a request of fingerprint `fp`. */
  async begin(namespace: string, accountRefId: string, key: string, fp: string): Promise<Begin> {
    const scope = await idempotencyScope(namespace, accountRefId, key);
    const c = await this.store.claim(scope, fp);
    switch (c.outcome) {
      case 'new':
        return this.run(scope, c.token);
      case 'replay':
        return { kind: 'replay', response: c.response };
      case 'mismatch':
        return { kind: 'deny', code: 'idempotency_key_mismatch' };
      case 'in_flight':
        return { kind: 'deny', code: 'idempotency_key_in_flight' };
      case 'not_replayable':
        return { kind: 'deny', code: 'idempotency_key_not_replayable' };
      default:
        return { kind: 'deny', code: 'idempotency_unavailable' };
    }
  }

  private run(scope: string, token: string): Begin {
    let done = false;
    const release = (): void => {
      if (done) return;
      done = true;
      this.store.release(scope, token).catch(this.report);
    };
    return {
      kind: 'run',
      complete: (r) => {
        // A 5xx is the app's failure, not a result: the key is free, so the client's retry runs
        // again (its debit carries the same event key, so it is not charged twice).
        if (r.status >= 500) return release();
        if (done) return;
        done = true;
        this.store.complete(scope, token, this.keep(r)).catch(this.report);
      },
      release,
    };
  }

  private keep(r: CapturedResponse): KeptResponse | undefined {
    if (r.body === undefined || r.body.byteLength > this.cfg.maxBodyBytes) return undefined;
    const headers: [string, string][] = [];
    for (const [name, value] of r.headers) {
      const n = name.toLowerCase();
      if (!KEPT.has(n) || value === undefined || value === null) continue;
      headers.push([n, Array.isArray(value) ? value.join(', ') : String(value)]);
    }
    return { status: r.status, headers, body: r.body };
  }
}
