// Counters behind gate.stats(), and the same events on node:diagnostics_channel so users can feed
// OpenTelemetry or Prometheus without this package depending on either.
import diagnostics from 'node:diagnostics_channel';

export const CHANNELS = {
  /** Every counter increment of stats(): `{ name, by, gate }`. */
  counter: 'ecom9-gate:counter',
  /** An account's entries dropped: `{ accountRefId, gate }`. */
  invalidation: 'ecom9-gate:invalidation',
  /** A verified webhook applied: `{ event, accountRefId, transactionId, gate }`. */
  webhook: 'ecom9-gate:webhook',
  /** Every decision a check or debit returned: `{ gate, kind, decision }` (see src/gate/events.ts). */
  decision: 'ecom9-gate:decision',
  /** What every webhook delivery was answered: `{ gate, outcome, status }`. */
  webhookOutcome: 'ecom9-gate:webhook-outcome',
  /** A tracingChannel (`tracing:ecom9-gate:upstream:start`, `:asyncEnd`, ...): one trace per HTTP attempt to ecom9. */
  upstream: 'ecom9-gate:upstream',
} as const;

export interface GateStats {
  /** Checks answered from a fresh cache entry. */
  cacheHits: number;
  /** Checks that had to ask ecom9 (each made or joined one upstream call). */
  cacheMisses: number;
  /** Misses that joined a call already in flight for the same key instead of making their own. */
  coalesced: number;
  /** Answers served from an expired entry because ecom9 failed (within staleIfErrorMs). */
  staleServed: number;
  /** Calls to ecom9 that failed after the client's retries. */
  upstreamErrors: number;
  /** Requests allowed only because failMode was 'open' and ecom9 was unreachable. */
  failOpenAllowed: number;
  /** Requests denied with 503 because failMode was 'closed' and ecom9 was unreachable. */
  failClosedDenied: number;
  /** Accounts whose entries were dropped (webhook, bus or a direct invalidate call). */
  invalidations: number;
  /** Invalidations that could not be published on, or were missed from, the bus. */
  busErrors: number;
  /** Misses of this instance's cache answered by the shared store (with `store`). */
  storeHits: number;
  /** Misses of the shared store: this instance made the one upstream call for the fleet. */
  storeMisses: number;
  /** Misses that waited for another instance's upstream call (the fleet's lock was held). */
  storeLockWaits: number;
  /** Store commands that failed or timed out; the gate asked ecom9 itself. */
  storeErrors: number;
  /** Misses that went straight to ecom9 because the store was down or recently failed. */
  storeBypassed: number;
  debits: number;
  debitsDenied: number;
  /** Holds granted by reserveCredits (a repeated key returning its open hold is not counted again). */
  holdsGranted: number;
  /** Holds refused: the balance less the open holds did not cover them. */
  holdsDenied: number;
  /** Holds settled with a debit that ecom9 approved. */
  holdsCharged: number;
  /** Holds closed by credits.holdTtlMs rather than by settle() or release(). */
  holdsExpired: number;
  /** Hold debits refused by ecom9 or not delivered (each reported as a HoldChargeError). */
  holdChargeErrors: number;
  usageQueued: number;
  usageSent: number;
  usageRetried: number;
  usageFailed: number;
  usageDropped: number;
  /** Usage events not yet delivered or given up on (a gauge, not a counter). */
  usagePending: number;
  webhooksReceived: number;
  webhooksRejected: number;
  webhooksDuplicate: number;
  /** Entries now in the cache (a gauge). */
  cacheSize: number;
}

export type CounterName = Exclude<keyof GateStats, 'usagePending' | 'cacheSize'>;

export class StatsRecorder {
  private readonly counters: Record<CounterName, number> = {
    cacheHits: 0,
    cacheMisses: 0,
    coalesced: 0,
    staleServed: 0,
    upstreamErrors: 0,
    failOpenAllowed: 0,
    failClosedDenied: 0,
    invalidations: 0,
    busErrors: 0,
    storeHits: 0,
    storeMisses: 0,
    storeLockWaits: 0,
    storeErrors: 0,
    storeBypassed: 0,
    debits: 0,
    debitsDenied: 0,
    holdsGranted: 0,
    holdsDenied: 0,
    holdsCharged: 0,
    holdsExpired: 0,
    holdChargeErrors: 0,
    usageQueued: 0,
    usageSent: 0,
    usageRetried: 0,
    usageFailed: 0,
    usageDropped: 0,
    webhooksReceived: 0,
    webhooksRejected: 0,
    webhooksDuplicate: 0,
  };

  private readonly channels = {
    counter: diagnostics.channel(CHANNELS.counter),
    invalidation: diagnostics.channel(CHANNELS.invalidation),
    webhook: diagnostics.channel(CHANNELS.webhook),
  };

  /** The gate these counters belong to, named in every message so a subscriber can tell gates apart. */
  owner: object | undefined = undefined;
  /** Told of every counted event (not warm hits): the gate's health() keeps its times. */
  onInc: ((name: CounterName, by: number) => void) | undefined = undefined;

  inc(name: CounterName, by = 1): void {
    this.counters[name] = this.counters[name] + by;
    this.onInc?.(name, by);
    const ch = this.channels.counter;
    if (ch.hasSubscribers) ch.publish({ name, by, gate: this.owner });
  }

  /** `inc('cacheHits')` for the warm path: a plain field, no lookup by name. */
  hit(): void {
    this.hits++;
    if (this.channels.counter.hasSubscribers) this.channels.counter.publish({ name: 'cacheHits', by: 1, gate: this.owner });
  }

  private hits = 0;

  /** Publishes only when someone listens, so an unobserved gate pays one property read. */
  publish(channel: 'counter' | 'invalidation' | 'webhook', message: () => object): void {
    const ch = this.channels[channel];
    if (ch.hasSubscribers) ch.publish({ ...message(), gate: this.owner });
  }

  snapshot(gauges: Pick<GateStats, 'usagePending' | 'cacheSize'>): GateStats {
    return { ...this.counters, cacheHits: this.counters.cacheHits + this.hits, ...gauges };
  }
}
