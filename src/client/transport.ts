// One pooled undici connection set to ecom9, a timeout per attempt, and retries with exponential
// backoff and jitter: on connection errors, 429 (honouring Retry-After) and 5xx, and for a POST only
// when an event_key makes it idempotent. The caller's signal is honoured throughout, the backoff
// included. The API key goes in a header and nowhere else.
// Hand-written rather than undici's interceptors.retry (evaluated, undici 7.30): its default backoff is a
// bare setTimeout the caller's signal cannot cut short, a signal spans all attempts (no timeout per
// attempt), it has no jitter and no injectable sleep (the tests pin the waits), it clamps a long
// Retry-After instead of giving up with RateLimitError, and it ignores retry-after-ms. It is also
// undici-only, while the fetch transport (Bun, Deno, the edge) needs these same retries: one loop serves both.
import type { Dispatcher } from 'undici';
// Resolved by package.json "imports" conditions: undici's Pool on Node, undefined elsewhere.
import { createPool } from '#undici-pool';
import type { z } from 'zod';
import type { EndpointName } from '../shared/endpoints';
import { defaultTransport, fetchSender, undiciSender, type PoolFactory, type Sender, type TransportKind } from './senders';
import { edgeRuntime } from '../shared/runtime';
import { AbortedError, ClientStateError, ConnectionError, Ecom9Error, InvalidResponseError, OptionsError, TimeoutError } from '../shared/errors';
import { errorForStatus } from './status-errors';
import { attemptContext, tracingUpstream, upstreamChannel, type UpstreamAttempt } from './diagnostics';

export interface TransportOptions {
  apiKey: string;
  baseUrl: string;
  authScheme: 'bearer' | 'x-api-key';
  timeoutMs: number;
  maxRetries: number;
  retryBaseMs: number;
  retryMaxMs: number;
  connections: number;
  dispatcher?: Dispatcher | undefined;
  /** undici on Node, the runtime's fetch on Bun and Deno (see senders.ts); a dispatcher means undici. */
  transport?: TransportKind | undefined;
  /** Gets the call's signal; the transport stops waiting on abort even if the sleep ignores it. */
  sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Told how each call ended (after its retries): no error, or the final one. Not told of the caller's aborts. */
  onOutcome?: ((endpoint: EndpointName, error: unknown) => void) | undefined;
}

/** Per-call overrides, accepted as the last argument of every client method. */
export interface CallOptions {
  /** Aborts the call, the wait between retries included; it then rejects with an AbortError (an Ecom9Error, code 'aborted'). */
  signal?: AbortSignal;
  timeoutMs?: number;
  maxRetries?: number;
}

export interface RequestSpec<T> {
  endpoint: EndpointName;
  method: 'GET' | 'POST';
  /** Relative to the base URL, already percent-encoded. */
  path: string;
  query?: Record<string, string | number | undefined>;
  body?: unknown;
  /** May this request be sent twice? GETs yes; POSTs only with an event_key. */
  idempotent: boolean;
  schema: z.ZodType<T>;
  /** What an empty 2xx body means, where ecom9 sends one. */
  empty?: T;
  /** 4xx statuses whose body is still a result (a refused debit), not an error. */
  resultOn4xx?: boolean;
}

const USER_AGENT = 'ecom9-gate';

const runtimeLabel = () => edgeRuntime() ?? ((globalThis as { Bun?: unknown }).Bun ? 'Bun' : (globalThis as { Deno?: unknown }).Deno ? 'Deno' : 'this runtime');

// undici's own refusals: a closed or destroyed pool, or an argument it rejects. Sending again cannot
// help, so these are final rather than connection errors (which are retried).
const LOCAL_REFUSALS = new Set(['UND_ERR_CLOSED', 'UND_ERR_DESTROYED', 'UND_ERR_INVALID_ARG', 'UND_ERR_NOT_SUPPORTED']);

const aborted = (endpoint: EndpointName, signal: AbortSignal) =>
  new AbortedError(`ecom9 ${endpoint}: aborted by the caller`, { endpoint, cause: signal.reason });

export class Transport {
  private readonly base: URL;
  private readonly sender: Sender;
  private readonly auth: Record<string, string>;
  /** Named in the upstream trace events: the client this transport serves. */
  owner: object | undefined = undefined;

  constructor(private readonly o: TransportOptions) {
    this.base = new URL(o.baseUrl.endsWith('/') ? o.baseUrl : `${o.baseUrl}/`);
    const kind = o.dispatcher ? 'undici' : (o.transport ?? defaultTransport(createPool));
    if (kind === 'fetch') this.sender = fetchSender();
    else {
      if (!o.dispatcher && !createPool) throw new OptionsError(`ecom9-gate: http.transport: 'undici' is not available on ${runtimeLabel()}; use 'fetch'`);
      this.sender = undiciSender(o.dispatcher ?? (createPool as PoolFactory)(this.base.origin, o.connections), o.dispatcher === undefined);
    }
    this.auth = o.authScheme === 'x-api-key' ? { 'x-api-key': o.apiKey } : { authorization: `Bearer ${o.apiKey}` };
  }

  url(path: string, query?: Record<string, string | number | undefined>): URL {
    const u = new URL(path, this.base);
    for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined) u.searchParams.set(k, String(v));
    return u;
  }

  async call<T>(spec: RequestSpec<T>, opts: CallOptions = {}): Promise<T> {
    const maxRetries = spec.idempotent ? (opts.maxRetries ?? this.o.maxRetries) : 0;
    for (let attempt = 0; ; attempt++) {
      if (opts.signal?.aborted) throw aborted(spec.endpoint, opts.signal);
      try {
        const result = await (tracingUpstream() ? this.traced(spec, opts, attempt) : this.attempt(spec, opts));
        this.o.onOutcome?.(spec.endpoint, undefined);
        return result;
      } catch (err) {
        const wait = this.retryDelay(err, attempt, maxRetries);
        if (wait === undefined) {
          if (!(err instanceof AbortedError)) this.o.onOutcome?.(spec.endpoint, err);
          throw err;
        }
        await this.backoff(wait, spec.endpoint, opts.signal);
      }
    }
  }

  /** The wait before a retry, cut short by the caller's signal (whatever the injected sleep does with it). */
  private backoff(ms: number, endpoint: EndpointName, signal: AbortSignal | undefined): Promise<void> {
    if (!signal) return this.o.sleep(ms);
    // An abort that landed while the failed attempt was being read fires no event any more.
    if (signal.aborted) return Promise.reject(aborted(endpoint, signal));
    return new Promise<void>((resolve, reject) => {
      const onAbort = () => reject(aborted(endpoint, signal));
      signal.addEventListener('abort', onAbort, { once: true });
      this.o.sleep(ms, signal).then(
        () => {
          signal.removeEventListener('abort', onAbort);
          resolve();
        },
        (err: unknown) => {
          signal.removeEventListener('abort', onAbort);
          reject(signal.aborted ? aborted(endpoint, signal) : err);
        },
      );
    });
  }

  async close(): Promise<void> {
    await this.sender.close();
  }

  /** How long to wait before the next attempt, or undefined when the error is final. */
  private retryDelay(err: unknown, attempt: number, maxRetries: number): number | undefined {
    if (attempt >= maxRetries || !(err instanceof Ecom9Error)) return undefined;
    const retryable = err instanceof ConnectionError || err instanceof TimeoutError || err.status === 429 || (err.status !== undefined && err.status >= 500);
    if (!retryable) return undefined;
    const asked = (err as { retryAfterMs?: number }).retryAfterMs;
    if (asked !== undefined) return asked <= Math.max(this.o.retryMaxMs, 1_000) ? asked : undefined;
    const cap = Math.min(this.o.retryMaxMs, this.o.retryBaseMs * 2 ** attempt);
    return Math.round(cap / 2 + Math.random() * (cap / 2));
  }

  /** One attempt inside the upstream tracingChannel, its status code written into the context. */
  private traced<T>(spec: RequestSpec<T>, opts: CallOptions, attempt: number): Promise<T> {
    const ctx = attemptContext(this.owner, spec.endpoint, spec.method, this.url(spec.path), attempt);
    return (upstreamChannel as NonNullable<typeof upstreamChannel>).tracePromise(() => this.attempt(spec, opts, ctx), ctx);
  }

  private async attempt<T>(spec: RequestSpec<T>, opts: CallOptions, ctx?: UpstreamAttempt): Promise<T> {
    const timeoutMs = opts.timeoutMs ?? this.o.timeoutMs;
    const timeout = AbortSignal.timeout(timeoutMs);
    const signal = opts.signal ? AbortSignal.any([opts.signal, timeout]) : timeout;
    const url = this.url(spec.path, spec.query);
    let status: number;
    let headers: Record<string, string | string[] | undefined>;
    let text: string;
    try {
      ({ status, headers, text } = await this.sender.send({
        url,
        method: spec.method,
        headers: {
          ...this.auth,
          accept: 'application/json',
          'user-agent': USER_AGENT,
          ...(spec.body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: spec.body === undefined ? null : JSON.stringify(spec.body),
        signal,
      }));
      if (ctx) ctx.statusCode = status;
    } catch (cause) {
      if (opts.signal?.aborted) throw aborted(spec.endpoint, opts.signal);
      if (timeout.aborted) throw new TimeoutError(`ecom9 ${spec.endpoint}: no answer within ${timeoutMs} ms`, { endpoint: spec.endpoint });
      // The sender's cause is dropped on purpose: its message may quote a header, and one header is the key.
      const code = (cause as { code?: unknown })?.code;
      if (typeof code === 'string' && LOCAL_REFUSALS.has(code)) {
        const why = code === 'UND_ERR_CLOSED' || code === 'UND_ERR_DESTROYED' ? 'the client is closed' : `the request was refused before sending (${code})`;
        throw new ClientStateError(`ecom9 ${spec.endpoint}: ${why}`, { endpoint: spec.endpoint });
      }
      throw new ConnectionError(`ecom9 ${spec.endpoint}: connection failed (${typeof code === 'string' ? code : ((cause as Error)?.name ?? 'error')})`, {
        endpoint: spec.endpoint,
      });
    }
    if (status >= 200 && status < 300 && text.trim() === '' && spec.empty !== undefined) return spec.empty;
    let json: unknown;
    try {
      json = text === '' ? undefined : JSON.parse(text);
    } catch {
      if (status >= 200 && status < 300) throw new InvalidResponseError(`ecom9 ${spec.endpoint}: the body is not JSON`, { status, endpoint: spec.endpoint });
    }
    if ((status >= 200 && status < 300) || (spec.resultOn4xx && status >= 400 && status < 500 && status !== 429)) {
      const parsed = spec.schema.safeParse(json);
      if (parsed.success) return parsed.data;
      if (status < 300) {
        const where = parsed.error.issues
          .map((i) => i.path.join('.') || '(body)')
          .slice(0, 5)
          .join(', ');
        throw new InvalidResponseError(`ecom9 ${spec.endpoint}: unexpected response shape at ${where}`, { status, endpoint: spec.endpoint, body: json });
      }
    }
    throw errorForStatus(status, spec.endpoint, json, retryAfterMs(headers));
  }
}

/** `retry-after-ms`, else `Retry-After` in seconds or as an HTTP date. */
export function retryAfterMs(headers: Record<string, string | string[] | undefined>, now = Date.now()): number | undefined {
  const first = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v);
  const ms = Number(first(headers['retry-after-ms']));
  if (Number.isFinite(ms) && ms >= 0 && first(headers['retry-after-ms']) !== undefined) return ms;
  const ra = first(headers['retry-after']);
  if (ra === undefined) return undefined;
  const seconds = Number(ra);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const date = Date.parse(ra);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}
