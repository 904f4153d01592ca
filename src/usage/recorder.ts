// Postpaid usage, off the request path: recordUsage enqueues and returns at once; a small pool of
// senders delivers each event with its own event_key on every attempt (so retries never count twice),
// backing off between attempts. Nothing is dropped silently: what is given up on is reported and
// counted, and with a spool it survives a crash.
import { randomUUID } from 'node:crypto';
import { AuthenticationError, accountRefProblem, NotFoundError, ValidationError, type Ecom9Client } from '../client';
import type { StatsRecorder } from '../gate/stats';
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

  constructor(
    private readonly client: Ecom9Client,
    private readonly opts: UsageOptions,
    private readonly stats: StatsRecorder,
    private readonly report: (err: unknown) => void,
  ) {
    if (opts.spoolPath) {
      const { spool, pending } = Spool.open(opts.spoolPath);
      this.spool = spool;
      for (const event of pending) this.enqueue(event, false);
      this.pump();
    }
  }

  get pending(): number {
    return this.unsettled.size;
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
    if (this.closed || this.unsettled.size >= this.opts.maxQueue) {
      this.stats.inc('usageDropped');
      this.report(new UsageDeliveryError(this.closed ? 'usage recorder is closed' : `usage queue is full (${this.opts.maxQueue})`, event));
      return { queued: false, eventKey: event.eventKey };
    }
    this.enqueue(event, true);
    this.pump();
    return { queued: true, eventKey: event.eventKey };
  }

  /** Resolves once every event queued before the call is delivered or given up on. */
  flush(): Promise<void> {
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
    const left = [...this.unsettled.values()];
    if (this.spool) this.spool.close(left.map((q) => q.event));
    else {
      for (const q of left) {
        this.stats.inc('usageDropped');
        this.report(new UsageDeliveryError('usage event still undelivered at close()', q.event));
      }
    }
    this.unsettled.clear();
    this.ready.length = 0;
    for (const w of this.flushWaiters.splice(0)) w.resolve();
  }

  private enqueue(event: SpooledEvent, journal: boolean): void {
    if (journal) this.spool?.add(event);
    const q: Queued = { event, seq: this.nextSeq++, attempts: 0 };
    this.unsettled.set(q.seq, q);
    this.ready.push(q);
    this.stats.inc('usageQueued');
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
        { accountRefId: e.accountRefId, productCode: e.product, meterCode: e.meter, quantity: e.quantity, eventKey: e.eventKey, ...(e.metadata ? { metadata: e.metadata } : {}) },
        // The recorder owns the retry schedule (longer than a request's), so the client makes one attempt.
        { maxRetries: 0 },
      );
      if (r.accepted) {
        this.stats.inc('usageSent');
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
    this.stats.inc('usageFailed');
    this.report(new UsageDeliveryError(`ecom9-gate: usage event ${q.event.eventKey}: ${why}`, q.event, cause === undefined ? undefined : { cause }));
    this.settle(q);
  }

  private settle(q: Queued): void {
    if (!this.unsettled.delete(q.seq)) return;
    this.spool?.done(q.event.eventKey, () => [...this.unsettled.values()].map((u) => u.event));
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
