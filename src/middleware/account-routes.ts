// The browser's read-only account routes, framework-free: (request, path, query) -> { status, headers,
// body }, or an events stream. Every adapter (Express, Koa, Fastify, fetch, Hono) only reads its
// request, calls `handle`, and writes the answer (src/middleware/account-routes-io.ts).
import { LRUCache } from 'lru-cache';
import { Ecom9Error, RateLimitError, ValidationError } from '../client';
import type { Gate } from '../gate/create-gate';
import { PROBLEM_CONTENT_TYPE, problemOf } from '../gate/decision';
import { misconfiguration } from '../shared/misconfig';
import { isEcom9NotFound } from '../shared/rules';
import { accountRefProblem } from '../shared/account-ref';
import { NoEmailError, ROUTES, queryObject, type RouteContext } from './account-query';
import { type AccountResolver, isPromise, resolveAccount } from './guards';
import { EventHub, type EventsAnswer } from './sse';
import { MisconfigurationError, OptionsError } from '../shared/errors';

export interface AccountRoutesOptions {
  /** Where the routes are mounted (Koa, Fastify, fetch): e.g. '/api/ecom9'. Express and Hono mount a router instead. */
  prefix?: string;
  /** Requests per account per window, events streams included (default 60 a minute). Past it: 429 with Retry-After. */
  rate?: { max?: number; windowMs?: number };
  /** How long a status or entitlement answer is reused (default 10 s); every invalidation of the account drops it. */
  cacheTtlMs?: number;
  /** Open events streams per account (default 5); one more is a 429. */
  maxStreamsPerAccount?: number;
  /** A comment line on every open stream this often (default 25 s), so proxies keep it open. */
  heartbeatMs?: number;
  /** Clock for the rate window (tests). */
  now?: () => number;
}

export interface RouteAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export type AccountAnswer = RouteAnswer | EventsAnswer;

/** Every answer: never stored by a browser or a shared cache, never sniffed as something else. */
export const ROUTE_HEADERS = Object.freeze({ 'cache-control': 'private, no-store', 'x-content-type-options': 'nosniff' });

const DEFAULTS = { max: 60, windowMs: 60_000, cacheTtlMs: 10_000, maxStreams: 5, heartbeatMs: 25_000 };

function positive(name: string, v: unknown, fallback: number): number {
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw new OptionsError(`ecom9-gate: accountRoutes option "${name}" must be a positive integer`);
  return v;
}

/** Checks a mount prefix: '' or '/a/b' (no trailing slash, no query). */
export function checkPrefix(prefix: unknown, fallback = ''): string {
  if (prefix === undefined) return fallback;
  if (typeof prefix !== 'string' || !/^(\/[A-Za-z0-9._~-]+)*$/.test(prefix))
    throw new OptionsError('ecom9-gate: accountRoutes option "prefix" must be a path like "/api/ecom9"');
  return prefix;
}

export function problem(status: number, code: string, detail: string, extra: Record<string, unknown> = {}, headers: Record<string, string> = {}): RouteAnswer {
  return {
    status,
    headers: { ...ROUTE_HEADERS, 'content-type': PROBLEM_CONTENT_TYPE, ...headers },
    body: JSON.stringify(problemOf(status, code, TITLES[status] ?? 'Error', detail, extra)),
  };
}

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

type Window = { count: number; resetAt: number };

/** The core behind every adapter's accountRoutes(). */
export function accountRoutesCore<Req>(gate: Gate, resolver: AccountResolver<Req>, options: AccountRoutesOptions = {}) {
  if (typeof options !== 'object' || options === null) throw new OptionsError('ecom9-gate: accountRoutes options must be an object');
  const max = positive('rate.max', options.rate?.max, DEFAULTS.max);
  const windowMs = positive('rate.windowMs', options.rate?.windowMs, DEFAULTS.windowMs);
  const ttl = positive('cacheTtlMs', options.cacheTtlMs, DEFAULTS.cacheTtlMs);
  const maxStreams = positive('maxStreamsPerAccount', options.maxStreamsPerAccount, DEFAULTS.maxStreams);
  const heartbeatMs = positive('heartbeatMs', options.heartbeatMs, DEFAULTS.heartbeatMs);
  const now = options.now ?? Date.now;
  const report = (err: unknown) => gate.reportError(err);

  // A fixed window per account, bounded like every other per-account table here (lru-cache).
  const windows = new LRUCache<string, Window>({ max: 10_000 });
  // Status and entitlement bodies of each account, dropped whole by an invalidation of it.
  const bodies = new LRUCache<string, Map<string, Promise<unknown>>>({ max: 10_000, ttl, ttlAutopurge: false });
  const hub = new EventHub(gate, { maxStreams, heartbeatMs, onInvalidate: (ref) => (ref === undefined ? bodies.clear() : bodies.delete(ref)) });

  function overRate(ref: string): number | undefined {
    const t = now();
    let w = windows.get(ref);
    if (!w || t >= w.resetAt) windows.set(ref, (w = { count: 0, resetAt: t + windowMs }));
    w.count++;
    return w.count > max ? Math.max(1, Math.ceil((w.resetAt - t) / 1000)) : undefined;
  }

  const context = (ref: string): RouteContext => {
    const c: RouteContext = {
      client: gate.client,
      ref,
      cached(key, load) {
        let m = bodies.get(ref);
        if (!m) bodies.set(ref, (m = new Map()));
        let p = m.get(key);
        if (!p) {
          const map = m;
          p = load();
          map.set(key, p);
          // A failure is not remembered: the next request asks again.
          p.catch(() => map.get(key) === p && map.delete(key));
        }
        return p as never;
      },
      async email() {
        const s = await c.cached('s\u0000\u0000', () => gate.client.accounts.status({ accountRefId: ref }));
        return (s as { customer_email?: string | null }).customer_email ?? undefined;
      },
    };
    return c;
  };

  function failure(err: unknown): RouteAnswer {
    if (err instanceof NoEmailError) return problem(409, 'email_unknown', 'ecom9 has no email for this account, which a checkout link by tier needs.');
    const why = misconfiguration(err);
    if (why !== undefined) {
      report(new MisconfigurationError(`ecom9-gate: ${why}`, { cause: err }));
      return problem(500, 'misconfigured', "The billing service refused this server's configuration.");
    }
    if (isEcom9NotFound(err)) return problem(404, 'not_found', 'ecom9 knows no such account, subscription, tier or product.');
    if (err instanceof ValidationError) return problem(400, 'invalid_query', 'ecom9 refused the query.', { fields: Object.keys(err.fields ?? {}) });
    if (err instanceof Ecom9Error) {
      const wait = err instanceof RateLimitError && err.retryAfterMs !== undefined ? Math.ceil(err.retryAfterMs / 1000) : 5;
      return problem(
        503,
        'upstream_unavailable',
        'The billing service could not be reached; try again shortly.',
        { retry_after: wait },
        { 'retry-after': String(wait) },
      );
    }
    report(err);
    return problem(500, 'internal', 'The request could not be answered.');
  }

  async function answer(route: string, query: Record<string, string>, ref: string): Promise<AccountAnswer> {
    const claimed = query.account_ref_id;
    // The session names the account; a browser may repeat it, never change it.
    if (claimed !== undefined && claimed !== ref) return problem(403, 'account_mismatch', 'account_ref_id names another account than the signed-in one.');
    const wait = overRate(ref);
    if (wait !== undefined)
      return problem(429, 'rate_limited', 'Too many requests for this account; try again later.', { retry_after: wait }, { 'retry-after': String(wait) });
    if (route === 'events') {
      const { account_ref_id: _, ...rest } = query;
      const extra = Object.keys(rest)[0];
      if (extra !== undefined) return problem(400, 'invalid_query', `"${extra}" is not a query of this route.`, { fields: [extra] });
      return hub.open(ref) ?? problem(429, 'too_many_streams', 'Too many open event streams for this account.', { retry_after: 30 }, { 'retry-after': '30' });
    }
    const spec = ROUTES[route] as NonNullable<(typeof ROUTES)[string]>;
    const parsed = spec.schema.safeParse(query);
    if (!parsed.success) {
      const fields = [...new Set(parsed.error.issues.flatMap((i) => (i.code === 'unrecognized_keys' ? i.keys : [i.path.join('.')])))];
      const text = parsed.error.issues
        .map((i) =>
          i.code === 'unrecognized_keys' ? `${i.keys.map((k) => `"${k}"`).join(', ')} is not a query of this route` : `"${i.path.join('.')}" ${i.message}`,
        )
        .join('; ');
      return problem(400, 'invalid_query', text, { fields });
    }
    try {
      const body = await spec.run(parsed.data, context(ref));
      return { status: 200, headers: { ...ROUTE_HEADERS, 'content-type': 'application/json; charset=utf-8' }, body: JSON.stringify(body) };
    } catch (err) {
      return failure(err);
    }
  }

  return {
    /**
     * Answers one request. `path` is the part under the prefix ('/status'), `query` its search params.
     * The account is resolved only for a GET of a known route; the query's `account_ref_id` is only compared.
     */
    async handle(req: Req, method: string, path: string, query: URLSearchParams): Promise<AccountAnswer> {
      const route = path.replace(/^\/+|\/+$/g, '');
      if (route !== 'events' && !Object.hasOwn(ROUTES, route)) return problem(404, 'not_found', 'No such account route.');
      if (method !== 'GET') return problem(405, 'method_not_allowed', 'The account routes only answer GET.', {}, { allow: 'GET' });
      const q = queryObject(query);
      if ('repeated' in q) return problem(400, 'invalid_query', `"${q.repeated}" is given more than once.`, { fields: [q.repeated] });
      const r = resolveAccount(resolver, req, report);
      const resolved = isPromise(r) ? await r : r;
      // A ref ecom9 could not be asked about (too long, control characters, '..') is no account either: a
      // 401 here, not a 400 that would tell the browser its own query was wrong.
      if (typeof resolved !== 'string' || accountRefProblem(resolved) !== undefined)
        return problem(401, 'account_unresolved', 'The request does not identify an account.');
      return answer(route, q.value, resolved);
    },
    /** Open events streams (a gauge, for tests and health). */
    streams: () => hub.size,
    /** Ends every open events stream (call before closing the server, or it waits for them). */
    closeStreams: () => hub.endAll(),
    /** Ends the streams and stops listening to the gate's invalidations. */
    close: () => hub.close(),
  };
}

export type AccountRoutesCore<Req> = ReturnType<typeof accountRoutesCore<Req>>;
export type { EventsAnswer };
