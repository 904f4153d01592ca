// Postpaid usage, off the request path: recordUsage enqueues and returns at once; a small pool of
// senders delivers each event with its own event_key on every attempt (so retries never count twice),
// backing off between attempts. Nothing is dropped silently: what is given up on is reported and
// counted, and with a spool it survives a crash.
import { randomUUID } from 'node:crypto';
import { AuthenticationError, accountRefProblem, NotFoundError, ValidationError, type Ecom9Client } from '../client';
import type { StatsRecorder } from '../gate/stats';
import { Aggregator } from './aggregator';
import { Spool, usageEventSchema, type SpooledEvent } from './spool';

export interface UsageInput {
  accountRefId: string;
  product: string;
  meter: string;
  /** Positive integer. @default 1 */
  quantity?: number;
  /** Idempotency key; a fresh UUID when omitted. */
  eventKey?: string;
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

/** Thrown into onError for an event that will not be delivered. */
export class UsageDeliveryError extends Error {
  override readonly name = 'UsageDeliveryError';
  constructor(
    message: string,
    readonly event: Pick<SpooledEvent, 'accountRefId' | 'product' | 'meter' | 'quantity' | 'eventKey'>,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

interface Queued {
  readonly event: SpooledEvent;
  readonly seq: number;
  /** How many recorded events it carries: 1, or more for an aggregate. */
  readonly count: number;
  attempts: number;
}

export class UsageRecorder {
  private readonly ready: Queued[] = [];
  /** Every event not yet settled, in enqueue order (a Map keeps insertion order), for flush(). */
  private readonly unsettled = new Map<number, Queued>();
  private readonly flushWaiters: Array<{ upTo: number; resolve: () => void }> = [];
  private readonly timers = new Set<NodeJS.Timeout>();
  private inflight = 0;
  private nextSeq = 0;
  private closed = false;
  private readonly spool: Spool | undefined;
  private readonly aggregator: Aggregator;
  /** Recorded events not yet delivered or given up on, whether waiting in a bucket or queued. */
  private pendingEvents = 0;

  constructor(
    private readonly client: Ecom9Client,
    private readonly opts: UsageOptions,
    private readonly stats: StatsRecorder,
    private readonly report: (err: unknown) => void,
  ) {
    this.aggregator = new Aggregator(opts.aggregateMs, opts.spoolPath !== undefined, () => this.seal());
    if (opts.spoolPath) {
      const { spool, pending } = Spool.open(opts.spoolPath);
      this.spool = spool;
      for (const event of pending) {
        this.pendingEvents++;
        this.stats.inc('usageQueued');
        this.enqueue(event, 1);
      }
      this.pump();
    }
  }

  get pending(): number {
    return this.pendingEvents;
  }

  /** Validates and enqueues one event; returns at once. `queued` is false when it was refused. */
  record(input: UsageInput): { queued: boolean; eventKey: string } {
    const parsed = usageEventSchema.safeParse({ quantity: 1, ...input, eventKey: input.eventKey ?? randomUUID() });
    if (!parsed.success) {
      const names = parsed.error.issues.map((i) => i.path.join('.')).join(', ');
      throw new TypeError(`ecom9-gate: recordUsage: invalid ${names}`);
    }
    const event = parsed.data;
    const badRef = accountRefProblem(event.accountRefId);
    if (badRef) throw new TypeError(`ecom9-gate: recordUsage: accountRefId ${badRef}`);
    return { queued: this.accept(event, input.eventKey === undefined && input.metadata === undefined), eventKey: event.eventKey };
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
    if (!Number.isSafeInteger(quantity) || quantity <= 0) throw new TypeError('ecom9-gate: meterUsage "quantity" must come out a positive integer');
    if (accountRefProblem(accountRefId)) return false;
    const aggregatable = eventKey === undefined && metadata === undefined && this.opts.aggregateMs > 0;
    // An aggregated event only needs a key of its own when it is journaled.
    const key = eventKey ?? (aggregatable && !this.spool ? '' : randomUUID());
    return this.accept({ accountRefId, product, meter, quantity, eventKey: key, ...(metadata ? { metadata } : {}) }, aggregatable);
  }

  private accept(event: SpooledEvent, aggregatable: boolean): boolean {
    if (this.closed || this.pendingEvents >= this.opts.maxQueue) {
      this.stats.inc('usageDropped');
      this.report(new UsageDeliveryError(this.closed ? 'usage recorder is closed' : `usage queue is full (${this.opts.maxQueue})`, event));
      return false;
    }
    this.pendingEvents++;
    this.stats.inc('usageQueued');
    this.spool?.add(event);
    if (aggregatable && this.opts.aggregateMs > 0) {
      this.aggregator.add(event.accountRefId, event.product, event.meter, event.quantity, this.spool ? event : undefined);
      return true;
    }
    this.enqueue(event, 1);
    this.pump();
    return true;
  }

  /** Turns the open buckets into queued aggregate events. */
  private seal(): void {
    for (const s of this.aggregator.seal()) {
      if (s.raw) this.spool?.aggregate(s.event, s.raw);
      this.enqueue(s.event, s.count);
    }
    this.pump();
  }

  /** Resolves once every event queued before the call is delivered or given up on. */
  flush(): Promise<void> {
    if (this.aggregator.open) this.seal();
    const upTo = this.nextSeq;
    if (this.settledBefore(upTo)) return Promise.resolve();
    // Retry timers are unref'd so they never hold a process open; a flush in progress does.
    const keepAlive = setInterval(() => {}, 1_000);
    return new Promise<void>((resolve) => {
      this.flushWaiters.push({
        upTo,
        resolve: () => {
          clearInterval(keepAlive);
          resolve();
        },
      });
    });
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
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.aggregator.stop();
    const left = [...this.unsettled.values()];
    if (this.spool) this.spool.close(left.map((q) => q.event));
    else {
      for (const q of left) {
        this.stats.inc('usageDropped', q.count);
        this.report(new UsageDeliveryError('usage event still undelivered at close()', q.event));
      }
    }
    this.pendingEvents = 0;
    this.unsettled.clear();
    this.ready.length = 0;
    for (const w of this.flushWaiters.splice(0)) w.resolve();
  }

  private enqueue(event: SpooledEvent, count: number): void {
    const q: Queued = { event, seq: this.nextSeq++, count, attempts: 0 };
    this.unsettled.set(q.seq, q);
    this.ready.push(q);
  }

  private pump(): void {
    while (this.inflight < this.opts.concurrency && this.ready.length > 0) {
      const q = this.ready.shift() as Queued;
      this.inflight++;
      void this.send(q).finally(() => {
        this.inflight--;
        this.pump();
      });
    }
  }

  private async send(q: Queued): Promise<void> {
    q.attempts++;
    const e = q.event;
    try {
      const r = await this.client.usage.record(
        {
          accountRefId: e.accountRefId,
          productCode: e.product,
          meterCode: e.meter,
          quantity: e.quantity,
          eventKey: e.eventKey,
          ...(e.metadata ? { metadata: e.metadata } : {}),
        },
        // The recorder owns the retry schedule (longer than a request's), so the client makes one attempt.
        { maxRetries: 0 },
      );
      if (r.accepted) {
        this.stats.inc('usageSent', q.count);
        this.settle(q);
      } else this.giveUp(q, `ecom9 refused the event: ${r.error_code ?? 'not accepted'}`);
    } catch (err) {
      if (err instanceof ValidationError || err instanceof NotFoundError || err instanceof AuthenticationError) {
        this.giveUp(q, 'ecom9 rejected the event', err);
      } else if (q.attempts >= this.opts.maxAttempts) {
        this.giveUp(q, `not delivered after ${q.attempts} attempts`, err);
      } else this.retryLater(q);
    }
  }

  private retryLater(q: Queued): void {
    if (this.closed && !this.unsettled.has(q.seq)) return;
    this.stats.inc('usageRetried');
    const cap = Math.min(this.opts.retryMaxMs, this.opts.retryBaseMs * 2 ** (q.attempts - 1));
    const delay = Math.round(cap / 2 + Math.random() * (cap / 2));
    const t = setTimeout(() => {
      this.timers.delete(t);
      if (!this.unsettled.has(q.seq)) return;
      this.ready.push(q);
      this.pump();
    }, delay);
    t.unref();
    this.timers.add(t);
  }

  private giveUp(q: Queued, why: string, cause?: unknown): void {
    this.stats.inc('usageFailed', q.count);
    this.report(new UsageDeliveryError(`ecom9-gate: usage event ${q.event.eventKey}: ${why}`, q.event, cause === undefined ? undefined : { cause }));
    this.settle(q);
  }

  private settle(q: Queued): void {
    if (!this.unsettled.delete(q.seq)) return;
    this.pendingEvents -= q.count;
    this.spool?.done(q.event.eventKey, () => [...[...this.unsettled.values()].map((u) => u.event), ...this.aggregator.openRaw()]);
    if (this.flushWaiters.length === 0) return;
    for (let i = this.flushWaiters.length - 1; i >= 0; i--) {
      const w = this.flushWaiters[i] as { upTo: number; resolve: () => void };
      if (this.settledBefore(w.upTo)) {
        this.flushWaiters.splice(i, 1);
        w.resolve();
      }
    }
  }

  /** True when no event with a sequence number below `upTo` is unsettled (the Map is in seq order). */
  private settledBefore(upTo: number): boolean {
    const first = this.unsettled.keys().next();
    return first.done === true || first.value >= upTo;
  }
}
