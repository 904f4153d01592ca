// createClient's options as users write them: interfaces written out, so that the published types name
// neither zod nor the private schema (options.ts), which stays the runtime check and is checked there
// at compile time to accept exactly these. Optional fields take `undefined` as the schema does.
import type { Dispatcher } from 'undici';
import type { OPTION_DEFAULTS } from '../shared/defaults';

/** Timeouts, retries and the pool: createClient's own options, and createGate's `http`. */
export interface HttpOptions {
  /** Per attempt, in ms. @default {@link OPTION_DEFAULTS}.http.timeoutMs */
  timeoutMs?: number | undefined;
  /** Retries after the first attempt (connection errors, 429, 5xx; POSTs only with an event_key). @default {@link OPTION_DEFAULTS}.http.maxRetries */
  maxRetries?: number | undefined;
  /** The first backoff's cap, in ms; it doubles per retry. @default {@link OPTION_DEFAULTS}.http.retryBaseMs */
  retryBaseMs?: number | undefined;
  /** The largest backoff, in ms. @default {@link OPTION_DEFAULTS}.http.retryMaxMs */
  retryMaxMs?: number | undefined;
  /** Pooled connections to ecom9. @default {@link OPTION_DEFAULTS}.http.connections */
  connections?: number | undefined;
  /** How requests are sent: undici's pool, or the runtime's fetch (`connections` then does not apply). @default 'fetch' on Bun and Deno, else 'undici' */
  transport?: 'undici' | 'fetch' | undefined;
}

/** createClient's options, as written (defaults in {@link OPTION_DEFAULTS}). */
export interface ClientOptions extends HttpOptions {
  /** Your ecom9 Payment Gateway API key. */
  apiKey: string;
  /** ecom9's API root. @default {@link OPTION_DEFAULTS}.baseUrl */
  baseUrl?: string | undefined;
  /** How the key is sent: `Authorization: Bearer` or `X-API-Key`. @default {@link OPTION_DEFAULTS}.authScheme */
  authScheme?: 'bearer' | 'x-api-key' | undefined;
  /** Your own undici dispatcher (not closed by `close()`). */
  dispatcher?: Dispatcher | undefined;
  /** Waits between retries; injectable for tests. It gets the call's signal; the wait ends on abort either way. */
  sleep?: ((ms: number, signal?: AbortSignal) => Promise<void>) | undefined;
}
