// createGate: the one object an app makes. It validates options once, owns the client, the cache,
// the usage recorder and the webhook processor, and hands adapters prepared checks.
import type { Ecom9Client } from '../client';
import { makeClient } from '../client/client';
import { UsageRecorder, type PendingMeter, type UsageInput } from '../usage/recorder';
import { HoldJournal } from '../usage/hold-journal';
import { WebhookProcessor, type WebhookHandler, type WebhookInput, type WebhookResult, type WebhookVerifier } from '../webhooks/handler';
import { memoryReplayGuard } from '../webhooks/replay';
import { Access, type EntitlementCheckOptions, type FailMode, type PreparedCheck } from './access';
import { CatalogCache } from './catalog';
import { Credits, type CreditDecision, type DebitInput } from './credits';
import { Holds, type OpenHold, type Reservation, type ReserveOptions } from './holds';
import type { Decision } from './decision';
import { observeCheck, observeDebit, observeReservation, observeWebhook } from './events';
import { FactCache } from './fact-cache';
import { edgeRuntime } from '../shared/runtime';
import { HealthTracker, type GateHealth, type HealthReporter } from './health';
import { LinkResolver } from './links';
import { NameCheck } from './name-check';
import { printableUrl, UpstreamWatch } from './upstream-watch';
import { IdempotencyKeeper } from '../idempotency/keeper';
import { memoryIdempotencyStore } from '../idempotency/store';
import { ArgumentError, prefixed } from '../shared/errors';
import { misconfiguration } from '../shared/misconfig';
import type { GateOptions } from './gate-options';
import { parseGateOptions } from './options';
import type { FactStore, InvalidationBus, Logger } from './public-options';
import { StatsRecorder, type GateStats } from '../shared/stats';
import type { TierCheckOptions } from './tier-rule';

export interface Gate {
  /** The typed ecom9 client the gate uses (one pooled connection set). */
  readonly client: Ecom9Client;
  /** The gate-wide failMode (a check may override it). */
  readonly failMode: FailMode;
  /** Is the account on one of the tiers? `{ tiers: 'pro' }`, `{ tiers: ['pro', 'enterprise'], subscription }`, `{ atLeast: 'pro' }`. */
  checkTier(accountRefId: string, opts: TierCheckOptions): Promise<Decision>;
  /** Does the account hold the entitlement of the product? */
  checkEntitlement(accountRefId: string, opts: EntitlementCheckOptions): Promise<Decision>;
  /** A tier check compiled once, for middleware: `peek` answers a warm cache synchronously. */
  tierCheck(opts: TierCheckOptions): PreparedCheck;
  entitlementCheck(opts: EntitlementCheckOptions): PreparedCheck;
  /** Debits prepaid credits now (never cached); the same eventKey is never charged twice. */
  debitCredits(input: DebitInput): Promise<CreditDecision>;
  /**
   * Reserves up to `quantity` credits for work priced at its end; granted only if the balance less
   * every open hold of the account, product and meter covers it (fleet-wide with a redisStore).
   * Denied: `hold` is undefined and `decision` is the 402 insufficient_credits (or 503, 401, 500).
   */
  reserveCredits(accountRefId: string, opts: ReserveOptions): Promise<Reservation>;
  /** The holds this instance has open (all, or one account's). */
  openHolds(accountRefId?: string): OpenHold[];
  /** Queues a postpaid usage event and returns at once; delivered in the background with retries. */
  recordUsage(input: UsageInput): { queued: boolean; eventKey: string };
  /**
   * meterUsage's path into the recorder, for adapters: product and meter were checked when the
   * middleware was built. @internal
   */
  recordMetered(accountRefId: string, product: string, meter: string, quantity: number, eventKey?: string, metadata?: Record<string, unknown>): boolean;
  /** recordMetered in two steps: journaled now, before the response is sent; counted on `commit()`. @internal */
  beginMetered(accountRefId: string, product: string, meter: string, quantity: number, eventKey?: string, metadata?: Record<string, unknown>): PendingMeter;
  /** Idempotency-Keys of chargeCredits (kept in memory, or in the fleet's Redis with a redisStore). @internal */
  readonly idempotency: IdempotencyKeeper;
  /** Whether usage is journaled (`usage.spoolPath`): only then does meterUsage journal before the response's last bytes. @internal */
  readonly usageJournaled: boolean;
  /** How long a webhook body may take to arrive, in ms (`webhooks.bodyTimeoutMs`). @internal */
  readonly webhookBodyTimeoutMs: number;
  /** Verifies and applies one webhook delivery; returns what to answer. */
  handleWebhook(input: WebhookInput): Promise<WebhookResult>;
  /** Runs `handler` for webhook events of that name ('*': events no named handler takes). Returns an unsubscribe function. */
  onWebhook(event: string, handler: WebhookHandler): () => void;
  /** Called by each adapter's webhookRouter(): warns once when webhooks are not verified. @internal */
  prepareWebhooks(): void;
  /** Reports an error the way the gate does (onError, else the logger): for adapters and user code. */
  reportError(err: unknown): void;
  /** Drops every cached entry of the account here (and, with a bus, in every instance). */
  invalidate(accountRefId: string): void;
  /**
   * Calls `listener` whenever this instance drops an account's entries (a webhook here, a bus message
   * from another instance, or invalidate()); `undefined` means every account (the bus cleared all).
   * Returns an unsubscribe function. For the browser's events stream.
   */
  onInvalidate(listener: (accountRefId: string | undefined) => void): () => void;
  /** Runs `listener` when close() starts (the account routes end their events streams). @internal */
  onClose(listener: () => void): () => void;
  stats(): GateStats;
  /** For a readiness probe: answered from what the gate has seen, without calling ecom9 (see GateHealth). */
  health(): GateHealth;
  /** Resolves when every usage event queued so far is delivered or given up on, and every hold's debit in flight is answered. */
  flush(): Promise<void>;
  /** Flushes usage, stops the bus and closes the client's connections. */
  close(): Promise<void>;
}

const CLOSE_TIMEOUT_MS = 10_000;

export function createGate(options?: GateOptions): Gate {
  const o = parseGateOptions(options);
  const now = (o.now as (() => number) | undefined) ?? Date.now;
  const logger: Logger = (o.logger as Logger | undefined) ?? console;
  const onError = o.onError as ((err: unknown) => void) | undefined;
  const report = (err: unknown): void => {
    try {
      if (onError) onError(err);
      else logger.warn(prefixed(err instanceof Error ? err.message : String(err)));
    } catch {
      // A throwing onError must not take the request or the sender down with it.
    }
  };
  const stats = new StatsRecorder();
  // Filled in below, once the parts it reads exist; the client and the counters report to it from the start.
  let health: HealthTracker | undefined;
  const watch = new UpstreamWatch({ logger, onError, now, baseUrl: printableUrl(o.baseUrl), quietMs: o.health.windowMs });
  const client = makeClient(
    {
      apiKey: o.apiKey,
      baseUrl: o.baseUrl,
      authScheme: o.authScheme,
      timeoutMs: o.http.timeoutMs,
      maxRetries: o.http.maxRetries,
      retryBaseMs: o.http.retryBaseMs,
      retryMaxMs: o.http.retryMaxMs,
      connections: o.http.connections,
      ...(o.http.transport ? { transport: o.http.transport } : {}),
    },
    {
      onOutcome: (endpoint, error) => {
        health?.upstream(endpoint, error);
        watch.outcome(endpoint, error);
      },
    },
  );
  const noStaleFor = (err: unknown): boolean => misconfiguration(err) !== undefined;
  const store = o.store as FactStore | undefined;
  store?.attach({ ttlMs: o.cache.ttlMs, denyTtlMs: o.cache.denyTtlMs, now, report, stats });
  // Off by default in an isolate: a fetch started by one request is cancelled when that request ends,
  // and a later request joining it would wait forever (docs/edge.md).
  const refreshAheadMs = o.cache.refreshAheadMs ?? (edgeRuntime() ? 0 : Math.floor(o.cache.ttlMs / 10));
  const cache = new FactCache({ ...o.cache, refreshAheadMs, now, clockInjected: o.now !== undefined, stats, noStaleFor, store });
  const catalog = new CatalogCache(client, now);
  const links = new LinkResolver(client, cache, catalog, stats, report);
  const names = new NameCheck(catalog, report);
  const access = new Access({ client, cache, stats, links, failMode: o.failMode, tierOrder: o.tierOrder, report, names });
  const credits = new Credits(client, access, stats, report);
  const holds = new Holds({
    client,
    access,
    stats,
    report,
    now,
    holdTtlMs: o.credits.holdTtlMs,
    balanceTtlMs: o.credits.balanceTtlMs,
    fleet: store?.holdLedger?.({ balanceTtlMs: o.credits.balanceTtlMs }),
    journal: o.usage.spoolPath ? new HoldJournal(`${o.usage.spoolPath}.holds`) : undefined,
  });
  const usage = new UsageRecorder(client, o.usage, stats, report, { onSpooled: (n) => health?.spooled(n) });
  const bus = o.bus as InvalidationBus | undefined;
  const idempotencyStore =
    store?.idempotencyStore?.({ ttlMs: o.idempotency.ttlMs, report }) ??
    memoryIdempotencyStore({ ttlMs: o.idempotency.ttlMs, max: o.idempotency.max, maxMemoryBytes: o.idempotency.maxMemoryBytes, now });
  const idempotency = new IdempotencyKeeper(idempotencyStore, { maxBodyBytes: o.idempotency.maxBodyBytes }, report);
  const tracker = new HealthTracker({
    now,
    windowMs: o.health.windowMs,
    // A bus (or a store) may report its own state with health(); else bus errors counted recently say it.
    bus: bus as HealthReporter | undefined,
    store: store as HealthReporter | undefined,
    cacheSize: () => cache.size,
    usagePending: () => usage.pending,
  });
  health = tracker;
  stats.onInc = tracker.counted;

  const invalidationListeners = new Set<(ref: string | undefined) => void>();
  const tell = (ref: string | undefined): void => {
    for (const l of invalidationListeners) {
      try {
        l(ref);
      } catch (err) {
        report(err);
      }
    }
  };
  /** `ready`: the fleet's copy is gone (true), so what was read recently may be fetched again. */
  const dropLocal = (ref: string, ready?: Promise<boolean>): void => {
    cache.invalidate(ref, ready);
    holds.invalidate(ref);
    stats.inc('invalidations');
    stats.publish('invalidation', () => ({ accountRefId: ref }));
    if (invalidationListeners.size > 0) tell(ref);
  };
  /**
   * Applied here at once; the bus carries it to the other instances once the store dropped its copy
   * (else another instance could read it back from the store before the delete). Rejects when the
   * store could not drop it: a webhook then answers 503, so ecom9's retry drops it later.
   */
  const invalidateEverywhere = async (ref: string): Promise<void> => {
    let storeFailed: unknown;
    // The store's delete is sent first, so a refetch (sent after it on the same connection) never reads the old copy back.
    const dropped = store?.invalidate(ref).then(
      () => true,
      (err: unknown) => {
        storeFailed = err;
        return false;
      },
    );
    dropLocal(ref, dropped);
    await dropped;
    if (bus) {
      Promise.resolve()
        .then(() => bus.publish(ref))
        .catch((err: unknown) => {
          stats.inc('busErrors');
          report(err);
        });
    }
    if (storeFailed !== undefined) throw storeFailed;
  };
  const invalidate = (ref: string): void => void invalidateEverywhere(ref).catch(report);
  bus?.subscribe({
    invalidate: (ref) => dropLocal(ref),
    clear: () => {
      cache.clear();
      if (invalidationListeners.size > 0) tell(undefined);
    },
    report,
    stats,
  });

  const handlers = new Map<string, Set<WebhookHandler>>();
  const secrets = o.webhookSecret === undefined ? [] : Array.isArray(o.webhookSecret) ? o.webhookSecret : [o.webhookSecret];
  const webhooks = new WebhookProcessor({
    secrets,
    rawSecrets: o.webhooks.secretFormat === 'raw',
    verify: o.webhooks.verify as WebhookVerifier | undefined,
    toleranceSeconds: o.webhooks.toleranceSeconds,
    replay: bus?.replayGuard ?? memoryReplayGuard({ max: o.webhooks.dedupeMax, ttlMs: o.webhooks.dedupeTtlMs, now }),
    handlers,
    invalidate: invalidateEverywhere,
    stats,
    now,
    report,
  });
  let warnedUnverified = false;
  let closing: Promise<void> | undefined;
  const closeListeners = new Set<() => void>();
  const shutdown = async (): Promise<void> => {
    for (const listener of closeListeners) {
      try {
        listener();
      } catch (err) {
        report(err);
      }
    }
    await holds.close();
    await usage.close(CLOSE_TIMEOUT_MS);
    await bus?.close?.();
    await store?.close?.();
    await client.close();
  };
  // Every check and debit goes out through these, so each decision is published (when someone listens).
  // (Called only once the gate below exists.)
  const tierCheck = (opts: TierCheckOptions) => observeCheck(access.tierCheck(opts), 'tier', gate);
  const entitlementCheck = (opts: EntitlementCheckOptions) => observeCheck(access.entitlementCheck(opts), 'entitlement', gate);
  const tierChecks = new PreparedChecks<TierCheckOptions, TierCheckOptions>(tierCheck, takeTier, sameTier);
  const entitlementChecks = new PreparedChecks<EntitlementCheckOptions, EntitlementCheckOptions>(entitlementCheck, takeEntitlement, sameEntitlement);

  const gate: Gate = {
    client,
    failMode: o.failMode,
    checkTier: (ref, opts) => answer(tierChecks, opts, ref),
    checkEntitlement: (ref, opts) => answer(entitlementChecks, opts, ref),
    tierCheck,
    entitlementCheck,
    debitCredits: (input) =>
      observeDebit(
        credits.debit(input).then((d) => {
          if (d.remainingBalance !== undefined) holds.observeDebit(input.accountRefId, input.product, input.meter, d.debited, d.remainingBalance);
          return d;
        }),
        gate,
      ),
    reserveCredits: (ref, opts) => observeReservation(holds.reserve(ref, opts), gate),
    openHolds: (ref) => holds.openHolds(ref),
    recordUsage: (input) => usage.record(input),
    beginMetered: (ref, product, meter, quantity, eventKey, metadata) => usage.beginMetered(ref, product, meter, quantity, eventKey, metadata),
    idempotency,
    webhookBodyTimeoutMs: o.webhooks.bodyTimeoutMs,
    usageJournaled: o.usage.spoolPath !== undefined,
    recordMetered: (ref, product, meter, quantity, eventKey, metadata) => usage.recordMetered(ref, product, meter, quantity, eventKey, metadata),
    handleWebhook: (input) => observeWebhook(webhooks.handle(input), gate),
    onWebhook(event, handler) {
      if (typeof handler !== 'function') throw new ArgumentError('ecom9-gate: onWebhook(event, handler) needs a function');
      let set = handlers.get(event);
      if (!set) handlers.set(event, (set = new Set()));
      set.add(handler);
      return () => void set.delete(handler);
    },
    prepareWebhooks() {
      if (!webhooks.verifies && !warnedUnverified) {
        warnedUnverified = true;
        logger.warn(
          'ecom9-gate: webhooks are not verified: set webhookSecret (or ECOM9_WEBHOOK_SECRET). ' +
            'Unverified webhooks can only drop cached entries, never grant access.',
        );
      }
    },
    reportError: report,
    invalidate,
    onInvalidate(listener) {
      if (typeof listener !== 'function') throw new ArgumentError('ecom9-gate: onInvalidate(listener) needs a function');
      invalidationListeners.add(listener);
      return () => void invalidationListeners.delete(listener);
    },
    onClose(listener) {
      closeListeners.add(listener);
      return () => void closeListeners.delete(listener);
    },
    stats: () => stats.snapshot({ usagePending: usage.pending, cacheSize: cache.size }),
    health: () => tracker.snapshot(),
    flush: () => Promise.all([usage.flush(), holds.flush()]).then(() => undefined),
    close() {
      closing ??= shutdown();
      return closing;
    },
  };
  stats.owner = gate;
  return gate;
}

/**
 * A warm cache answers without entering the async machinery of a miss. Bad options reject (the
 * method returns a Promise) rather than throw.
 */
function answer<O extends object, S>(checks: PreparedChecks<O, S>, opts: O, ref: string): Promise<Decision> {
  let check: PreparedCheck;
  try {
    check = checks.get(opts);
  } catch (err) {
    return Promise.reject(err);
  }
  const warm = check.peek(ref);
  return warm === undefined ? check.check(ref) : Promise.resolve(warm);
}

/**
 * Compiles a check once per options object, so a call site that reuses its options pays nothing.
 * The last one is kept at hand: a hot loop over one call site skips even the WeakMap. What a check
 * was compiled from is kept too and compared on reuse (a few reads, no allocation), so an options
 * object changed since compiles a new check instead of being judged by the old rule.
 */
class PreparedChecks<O extends object, S> {
  private readonly byOptions = new WeakMap<object, Compiled<S>>();
  private lastOptions: object | undefined;
  private last: Compiled<S> | undefined;

  constructor(
    private readonly make: (opts: O) => PreparedCheck,
    private readonly take: (opts: O) => S,
    private readonly same: (opts: O, was: S) => boolean,
  ) {}

  get(opts: O): PreparedCheck {
    let c = opts === this.lastOptions ? this.last : this.byOptions.get(opts);
    if (c === undefined || !this.same(opts, c.was)) {
      const check = this.make(opts);
      c = { check, was: this.take(opts) };
      this.byOptions.set(opts, c);
    }
    this.lastOptions = opts;
    this.last = c;
    return c.check;
  }
}

interface Compiled<S> {
  readonly check: PreparedCheck;
  readonly was: S;
}

function takeTier(o: TierCheckOptions): TierCheckOptions {
  const { tiers, atLeast, subscription, failMode, upgradeLink, paymentLink } = o;
  return { tiers: typeof tiers === 'string' || tiers === undefined ? tiers : [...tiers], atLeast, subscription, failMode, upgradeLink, paymentLink };
}

function sameTier(o: TierCheckOptions, was: TierCheckOptions): boolean {
  if (o.atLeast !== was.atLeast || o.subscription !== was.subscription || o.failMode !== was.failMode) return false;
  if (o.upgradeLink !== was.upgradeLink || o.paymentLink !== was.paymentLink) return false;
  const now = o.tiers;
  const then = was.tiers;
  if (typeof then !== 'object') return now === then;
  if (typeof now !== 'object' || now === null || now.length !== then.length) return false;
  for (let i = 0; i < then.length; i++) if (now[i] !== then[i]) return false;
  return true;
}

function takeEntitlement(o: EntitlementCheckOptions): EntitlementCheckOptions {
  const { product, entitlement, failMode } = o;
  return failMode === undefined ? { product, entitlement } : { product, entitlement, failMode };
}

function sameEntitlement(o: EntitlementCheckOptions, was: EntitlementCheckOptions): boolean {
  return o.product === was.product && o.entitlement === was.entitlement && o.failMode === was.failMode;
}
