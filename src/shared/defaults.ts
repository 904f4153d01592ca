// Every option's default, stated once: the option schemas (src/client/options.ts,
// src/gate/options.ts) apply these, and the options' JSDoc points here.

/** The defaults of createGate's and createClient's options (the client's are the gate's `http`). Frozen. */
export const OPTION_DEFAULTS = Object.freeze({
  baseUrl: 'https://app.ecom9.com/api/',
  authScheme: 'bearer',
  failMode: 'closed',
  cache: Object.freeze({ ttlMs: 60_000, denyTtlMs: 10_000, staleIfErrorMs: 300_000, max: 10_000 }),
  http: Object.freeze({ timeoutMs: 5_000, maxRetries: 2, retryBaseMs: 500, retryMaxMs: 8_000, connections: 64 }),
  usage: Object.freeze({ aggregateMs: 1_000, maxQueue: 10_000, concurrency: 4, maxAttempts: 8, retryBaseMs: 500, retryMaxMs: 30_000 }),
  webhooks: Object.freeze({ toleranceSeconds: 300, dedupeMax: 10_000, dedupeTtlMs: 24 * 60 * 60_000 }),
  health: Object.freeze({ windowMs: 60_000 }),
  credits: Object.freeze({ holdTtlMs: 10 * 60_000, balanceTtlMs: 5_000 }),
} as const);
