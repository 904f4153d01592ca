// Postpaid usage, off the request path: recordUsage validates, admits (a bounded queue), journals
// (with a spool) and hands the event to the sender (sender.ts), or sums unkeyed events first
// (aggregator.ts). Nothing is dropped silently: what is refused or given up on is reported and
// counted, and with a spool it survives a crash, an outage or a rejected API key (it is sent again on
// the next start). A metered response is journaled before it can reach its client (beginMetered),
// so a crash after the client got it loses nothing.
import type { Ecom9Client } from '../client';
import { accountRefProblem } from '../shared/account-ref';
import { ArgumentError, UsageDeliveryError, UsageSpoolError } from '../shared/errors';
import type { StatsRecorder } from '../shared/stats';
import { Aggregator } from './aggregator';
import { checkMetadata } from './policy';
import { UsageSender } from './sender';
import { Spool, usageEventSchema, type SpooledEvent } from './spool';
import { isQuantity } from '../shared/rules';

export interface UsageInput {
  accountRefId: string;
  product: string;
  meter: string;
  /** Positive integer. @default 1 */
  quantity?: number;
  /**
   * Idempotency key. When omitted (and there is no metadata), the event is summed with the other
   * unkeyed events of its account, product and meter over `usage.aggregateMs`, and the key returned by
   * `recordUsage` is the sum's, shared by every event in it: that is the key ecom9 sees. With
   * `aggregateMs: 0`, or with metadata, a fresh UUID.
   */
  eventKey?: string;
  /** Sent with the event; must survive JSON.stringify (no cycles, no BigInt). */
  metadata?: Record<string, unknown>;
}

export interface UsageOptions {
  spoolPath?: string | undefined;
  aggregateMs: number;
  maxQueue: number;
  concurrency: number;
  maxAttempts: number;
  retryBaseMs: number;
  retryMaxMs: number;
}

/** Internal hooks, for tests: how the recorder waits between attempts. */
export interface UsageHooks {
  /** Runs `fn` after `ms` and returns a cancel. The default is an unref'd setTimeout. */
  schedule?: (fn: () => void, ms: number) => () => void;
  /** Told how many events were given up on and kept in the spool (for gate.health()). */
  onSpooled?: (count: number) => void;
}

const defaultSchedule = (fn: () => void, ms: number): (() => void) => {
  const t = setTimeout(fn, ms);
  // Never holds the process open; a flush in progress does (see UsageSender.flush()). A number on the edge.
  (t as { unref?: () => void }).unref?.();
  return () => clearTimeout(t);
};

/**
 * A metered event journaled before its response is sent: `commit` once the response finished (it is
 * queued to be sent), `cancel` when it does not count (the client left first). Either at most once.
 */
export interface PendingMeter {
  commit(): boolean;
  cancel(): void;
}

const NOTHING_PENDING: PendingMeter = Object.freeze({ commit: () => false, cancel: () => {} });

export class UsageRecorder {
  private readonly sender: UsageSender;
  private closed = false;
  private readonly spool: Spool | undefined;
  private readonly aggregator: Aggregator;
  /** Recorded events not yet delivered or given up on, whether waiting in a bucket or queued. */
  private pendingEvents = 0;

  constructor(
    client: Ecom9Client,
    private readonly opts: UsageOptions,
    private readonly stats: StatsRecorder,
    private readonly report: (err: unknown) => void,
    hooks: UsageHooks = {},
  ) {
    this.aggregator = new Aggregator(opts.aggregateMs, opts.spoolPath !== undefined, () => this.seal());
    if (opts.spoolPath) {
      const { spool, pending, skipped } = Spool.open(opts.spoolPath);
      this.spool = spool;
      if (skipped > 0) {
        // Reported once, at open: a line torn by a crash is expected; more mean the file was edited or shared.
        report(new UsageSpoolError(`ecom9-gate: usage spool ${opts.spoolPath}: skipped ${skipped} unreadable line(s)`));
      }
      this.sender = this.makeSender(client, hooks);
      for (const p of pending) {
        this.pendingEvents += p.count;
        this.stats.inc('usageQueued', p.count);
        this.sender.enqueue(p.event, p.count);
      }
    } else this.sender = this.makeSender(client, hooks);
  }

  private makeSender(client: Ecom9Client, hooks: UsageHooks): UsageSender {
    return new UsageSender(client, this.opts, this.stats, this.report, {
      schedule: hooks.schedule ?? defaultSchedule,
      onSpooled: hooks.onSpooled,
      journaled: this.spool !== undefined,
      settled: (event, count, done) => {
        this.pendingEvents -= count;
        if (done) this.spool?.done(event.eventKey);
      },
    });
  }

  get pending(): number {
    return this.pendingEvents;
  }

  /** Validates and enqueues one event; returns at once. `queued` is false when it was refused. */
  record(input: UsageInput): { queued: boolean; eventKey: string } {
    const parsed = usageEventSchema.safeParse({ quantity: 1, ...input, eventKey: input.eventKey ?? crypto.randomUUID() });
    if (!parsed.success) {
      const names = parsed.error.issues.map((i) => i.path.join('.')).join(', ');
      throw new ArgumentError(`ecom9-gate: recordUsage: invalid ${names}`);
    }
    const event = parsed.data;
    const badRef = accountRefProblem(event.accountRefId);
    if (badRef) throw new ArgumentError(`ecom9-gate: recordUsage: accountRefId ${badRef}`);
    checkMetadata('recordUsage', event.metadata);
    const aggregatable = input.eventKey === undefined && input.metadata === undefined;
    if (!this.admits(event, aggregatable)) return { queued: false, eventKey: event.eventKey };
    this.spool?.add(event);
    return { queued: true, eventKey: this.admit(event, aggregatable) };
  }

  /**
   * The metering middleware's path: its product, meter and resolver were checked when it was built,
   * so only the per-request parts are checked here, without a schema.
   */
  recordMetered(
    accountRefId: string,
    product: string,
    meter: string,
    quantity: number,
    eventKey: string | undefined,
    metadata: Record<string, unknown> | undefined,
  ): boolean {
    if (!isQuantity(quantity)) throw new ArgumentError('ecom9-gate: meterUsage "quantity" must come out a positive integer');
    if (accountRefProblem(accountRefId)) return false;
    // Every metered request lands here: a summed event that is not journaled needs no event object.
    if (eventKey === undefined && metadata === undefined && this.opts.aggregateMs > 0 && !this.spool) return this.sum(accountRefId, product, meter, quantity);
    return this.beginMetered(accountRefId, product, meter, quantity, eventKey, metadata).commit();
  }

  /**
   * Journals a metered event now (with a spool), before its response is sent; it is counted when
   * committed. A crash in between sends it on the next start: the response was on its way.
   */
  beginMetered(
    accountRefId: string,
    product: string,
    meter: string,
    quantity: number,
    eventKey: string | undefined,
    metadata: Record<string, unknown> | undefined,
  ): PendingMeter {
    if (!isQuantity(quantity)) throw new ArgumentError('ecom9-gate: meterUsage "quantity" must come out a positive integer');
    if (accountRefProblem(accountRefId)) return NOTHING_PENDING;
    const aggregatable = eventKey === undefined && metadata === undefined && this.opts.aggregateMs > 0;
    // Every metered request lands here: a summed event that is not journaled needs no event object.
    if (aggregatable && !this.spool) return { commit: () => this.sum(accountRefId, product, meter, quantity), cancel: () => {} };
    checkMetadata('meterUsage', metadata);
    // An aggregated event only needs a key of its own when it is journaled.
    const key = eventKey ?? (aggregatable && !this.spool ? '' : crypto.randomUUID());
    const event: SpooledEvent = { accountRefId, product, meter, quantity, eventKey: key };
    if (metadata) event.metadata = metadata;
    // Journaled first: should the write fail, nothing has been counted yet.
    this.spool?.add(event);
    let settled = false;
    return {
      commit: () => {
        if (settled) return false;
        settled = true;
        if (this.admits(event, aggregatable)) {
          this.admit(event, aggregatable);
          return true;
        }
        this.spool?.done(event.eventKey);
        return false;
      },
      cancel: () => {
        if (settled) return;
        settled = true;
        this.spool?.done(event.eventKey);
      },
    };
  }

  /** Adds an unjournaled event to its sum; false when refused. */
  private sum(accountRefId: string, product: string, meter: string, quantity: number): boolean {
    if (!this.admits({ accountRefId, product, meter, quantity, eventKey: '' }, true)) return false;
    this.pendingEvents++;
    this.stats.inc('usageQueued');
    this.aggregator.add(accountRefId, product, meter, quantity, undefined);
    return true;
  }

  /**
   * Whether the event may be held: the recorder is open and, if it takes a slot, maxQueue has room
   * (queued sends and open buckets, a bucket counting once however many events it sums). A refusal is
   * counted and reported.
   */
  private admits(event: SpooledEvent, aggregatable: boolean): boolean {
    const summed = aggregatable && this.opts.aggregateMs > 0;
    const takesSlot = !summed || this.aggregator.opens(event.accountRefId, event.product, event.meter);
    if (!this.closed && !(takesSlot && this.sender.size + this.aggregator.size >= this.opts.maxQueue)) return true;
    this.stats.inc('usageDropped');
    this.report(new UsageDeliveryError(this.closed ? 'usage recorder is closed' : `usage queue is full (${this.opts.maxQueue})`, event));
    return false;
  }

  /** Counts an admitted (and journaled) event and queues it, or adds it to its bucket; returns the key it is sent under. */
  private admit(event: SpooledEvent, aggregatable: boolean): string {
    this.pendingEvents++;
    this.stats.inc('usageQueued');
    if (aggregatable && this.opts.aggregateMs > 0) {
      return this.aggregator.add(event.accountRefId, event.product, event.meter, event.quantity, this.spool ? event.eventKey : undefined);
    }
    this.sender.enqueue(event, 1);
    return event.eventKey;
  }

  /** Turns the open buckets into queued aggregate events. */
  private seal(): void {
    for (const s of this.aggregator.seal()) {
      if (s.parts) this.spool?.aggregate(s.event, s.parts);
      this.sender.enqueue(s.event, s.count);
    }
  }

  /** Resolves once every event recorded before the call is delivered or given up on. */
  flush(): Promise<void> {
    if (this.aggregator.size > 0) this.seal();
    return this.sender.flush();
  }

  private closing: Promise<void> | undefined;

  /** Flushes (for at most `timeoutMs`), then stops. Events still pending stay in the spool, or are reported. */
  close(timeoutMs: number): Promise<void> {
    this.closing ??= this.shutdown(timeoutMs);
    return this.closing;
  }

  private async shutdown(timeoutMs: number): Promise<void> {
    this.closed = true;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.flush(), new Promise<void>((r) => (timer = setTimeout(r, timeoutMs)))]);
    clearTimeout(timer);
    // From here on, an answer still on its way is ignored: what is left is accounted for once, below.
    const left = this.sender.stop();
    this.aggregator.stop();
    // With a spool, nothing left is marked done, so it all stays for the next start.
    if (this.spool) this.spool.close();
    else {
      for (const q of left) {
        this.stats.inc('usageDropped', q.count);
        this.report(new UsageDeliveryError('ecom9-gate: usage event not confirmed delivered by close()', q.event));
      }
    }
    this.pendingEvents = 0;
  }
}
