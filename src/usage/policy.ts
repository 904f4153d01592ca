// How the usage sender treats a failed attempt and how long it waits before the next one: kept apart
// from the queue so the rules read in one place.
import { ArgumentError, AuthenticationError, NotFoundError, RateLimitError, ValidationError } from '../shared/errors';
import { isEcom9NotFound } from '../shared/rules';

// A Retry-After longer than this is taken as this: a bogus header must not park the queue for days.
export const MAX_RETRY_AFTER_MS = 10 * 60_000;

/**
 * - `final`: ecom9 refused the event itself; sending it again can never succeed (marked done).
 * - `config`: a rejected key or a wrong baseUrl; retrying cannot help until the configuration is
 *   fixed, which takes a restart (with a spool, that restart sends the event again).
 * - `retry`: an outage, a timeout, a 429: worth another attempt.
 */
export function classify(err: unknown): 'final' | 'config' | 'retry' {
  if (err instanceof ValidationError || isEcom9NotFound(err)) return 'final';
  if (err instanceof AuthenticationError || err instanceof NotFoundError) return 'config';
  return 'retry';
}

/** What a 429 asked for (capped), else 0. */
export function askedWaitMs(err: unknown): number {
  return err instanceof RateLimitError && err.retryAfterMs !== undefined ? Math.min(err.retryAfterMs, MAX_RETRY_AFTER_MS) : 0;
}

/**
 * Exponential backoff with jitter (a random point in the upper half of the cap), the cap doubling
 * from `baseMs` up to `maxMs`; never shorter than `atLeastMs` (what a 429 asked). A 429 still counts
 * as an attempt, but each such attempt waits as asked, so maxAttempts keeps bounding how long an event
 * is held, and that bound grows with the server's own Retry-After.
 */
export function backoffMs(attempts: number, baseMs: number, maxMs: number, atLeastMs: number): number {
  const cap = Math.min(maxMs, baseMs * 2 ** (attempts - 1));
  return Math.max(atLeastMs, Math.round(cap / 2 + Math.random() * (cap / 2)));
}

/** Metadata is sent (and journaled) as JSON: what JSON.stringify refuses is refused before anything is counted. */
export function checkMetadata(where: string, metadata: Record<string, unknown> | undefined): void {
  if (metadata === undefined) return;
  try {
    JSON.stringify(metadata);
  } catch (err) {
    // The first line of the engine's message names the problem (a cycle, a BigInt) without the values.
    const why = String((err as Error)?.message ?? err).split('\n')[0];
    throw new ArgumentError(`ecom9-gate: ${where}: metadata is not JSON-serialisable (${why})`, { cause: err });
  }
}
