// Postpaid usage, off the request path: recordUsage enqueues and returns at once; a small pool of
// senders delivers each event with its own event_key on every attempt (so retries never count twice),
// backing off between attempts and waiting at least as long as a 429 asks. Nothing is dropped
// silently: what is given up on is reported and counted, and with a spool it survives a crash, an
// outage or a rejected API key (it is sent again on the next start).
import type { Ecom9Client, UsageRecordResult } from '../client';
import { accountRefProblem } from '../shared/account-ref';
import { ArgumentError, RateLimitError, UsageDeliveryError, UsageSpoolError } from '../shared/errors';
import type { StatsRecorder } from '../shared/stats';
import { Aggregator } from './aggregator';
import { askedWaitMs, backoffMs, checkMetadata, classify } from './policy';
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

interface Queued {
  readonly event: SpooledEvent;
  readonly seq: number;
  /** How many recorded events it carries: 1, or more for an aggregate. */
  readonly count: number;
  attempts: number;
}

const defaultSchedule = (fn: () => void, ms: number): (() => void) => {
  const t = setTimeout(fn, ms);
  // Never holds the process open; a flush in progress does (see flush()). A number on the edge.
  (t as { unref?: () => void }).unref?.();
  return () => clearTimeout(t);
};

export class UsageRecorder {
  private readonly ready: Queued[] = [];
  /** Every event not yet settled, in enqueue order (a Map keeps insertion order), for flush(). */
  private readonly unsettled = new Map<number, Queued>();
  private readonly flushWaiters: Array<{ upTo: number; resolve: () => void }> = [];
  private readonly timers = new Set<() => void>();
  private readonly schedule: (fn: () => void, ms: number) => () => void;
  /** Aborts the requests in flight when close() gives up waiting for them. */
  // One controller per send, made where the send starts: in a Worker an AbortSignal belongs to the
  // request that made it, and any other request touching it throws, so one for the recorder's life
  // (made in the first request) would fail every later request's sends.
  private readonly sending = new Set<AbortController>();
  private inflight = 0;
  private nextSeq = 0;
  private closed = false;
  /** Set once close() has accounted for what is left: nothing after it may count or write. */
  private stopped = false;
  /** While ecom9 asks us (429) to wait: no send starts. Cancels the pending resume. */
  private pause: (() => void) | undefined;
  private readonly spool: Spool | undefined;
  private readonly aggregator: Aggregator;
  /** Recorded events not yet delivered or given up on, whether waiting in a bucket or queued. */
  private pendingEvents = 0;
  /** Products and meters whose refusal by ecom9 was already reported (reported once, counted always). */
  private readonly refusalsReported = new Set<string>();
  private readonly onSpooled: ((count: number) => void) | undefined;

  constructor(
    private readonly client: Ecom9Client,
    private readonly opts: UsageOptions,
    private readonly stats: StatsRecorder,
    private readonly report: (err: unknown) => void,
    hooks: UsageHooks = {},
  ) {
    this.schedule = hooks.schedule ?? defaultSchedule;
    this.onSpooled = hooks.onSpooled;
    this.aggregator = new Aggregator(opts.aggregateMs, opts.spoolPath !== undefined, () => this.seal());
    if (opts.spoolPath) {
      const { spool, pending, skipped } = Spool.open(opts.spoolPath);
      this.spool = spool;
      if (skipped > 0) {
        // Reported once, at open: a line torn by a crash is expected; more mean the file was edited or shared.
        report(new UsageSpoolError(`ecom9-gate: usage spool ${opts.spoolPath}: skipped ${skipped} unreadable line(s)`));
      }
      for (const p of pending) {
        this.pendingEvents += p.count;
        this.stats.inc('usageQueued', p.count);
        this.enqueue(p.event, p.count);
      }
      this.pump();
    }
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
    const sentAs = this.accept(event, input.eventKey === undefined && input.metadata === undefined);
    return { queued: sentAs !== undefined, eventKey: sentAs ?? event.eventKey };
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
    const aggregatable = eventKey === undefined && metadata === undefined && this.opts.aggregateMs > 0;
    // Every metered request lands here: a summed event that is not journaled needs no event object.
    if (aggregatable && !this.spool) return this.sum(accountRefId, product, meter, quantity) !== undefined;
    checkMetadata('meterUsage', metadata);
    // An aggregated event only needs a key of its own when it is journaled.
    const key = eventKey ?? (aggregatable && !this.spool ? '' : crypto.randomUUID());
    const event: SpooledEvent = { accountRefId, product, meter, quantity, eventKey: key };
    if (metadata) event.metadata = metadata;
    return this.accept(event, aggregatable) !== undefined;
  }

  /** Adds an unjournaled event to its sum; returns the sum's key, or undefined when refused. */
  private sum(accountRefId: string, product: string, meter: string, quantity: number): string | undefined {
    if (!this.admits(this.aggregator.opens(accountRefId, product, meter))) {
      this.refuse({ accountRefId, product, meter, quantity, eventKey: '' });
      return undefined;
    }
    this.pendingEvents++;
    this.stats.inc('usageQueued');
    return this.aggregator.add(accountRefId, product, meter, quantity, undefined);
  }

  /** Whether an event may be held: the recorder is open and, if it takes a slot, maxQueue has room. */
  private admits(takesSlot: boolean): boolean {
    // maxQueue bounds what is held in memory: queued sends and open buckets, a bucket counting once
    // however many events it sums.
    return !this.closed && !(takesSlot && this.unsettled.size + this.aggregator.size >= this.opts.maxQueue);
  }

  private refuse(event: SpooledEvent): void {
    this.stats.inc('usageDropped');
    this.report(new UsageDeliveryError(this.closed ? 'usage recorder is closed' : `usage queue is full (${this.opts.maxQueue})`, event));
  }

  /** Queues the event (or adds it to its bucket); returns the key it will be sent under, or undefined when refused. */
  private accept(event: SpooledEvent, aggregatable: boolean): string | undefined {
    const summed = aggregatable && this.opts.aggregateMs > 0;
    if (!this.admits(!summed || this.aggregator.opens(event.accountRefId, event.product, event.meter))) {
      this.refuse(event);
      return undefined;
    }
    // Journaled first: should the write fail, nothing has been counted yet.
    this.spool?.add(event);
    this.pendingEvents++;
    this.stats.inc('usageQueued');
    if (summed) {
      return this.aggregator.add(event.accountRefId, event.product, event.meter, event.quantity, this.spool ? event.eventKey : undefined);
    }
    this.enqueue(event, 1);
    this.pump();
    return event.eventKey;
  }

  /** Turns the open buckets into queued aggregate events. */
  private seal(): void {
    for (const s of this.aggregator.seal()) {
      if (s.parts) this.spool?.aggregate(s.event, s.parts);
      this.enqueue(s.event, s.count);
    }
    this.pump();
  }

  /** Resolves once every event queued before the call is delivered or given up on. */
  flush(): Promise<void> {
    if (this.aggregator.size > 0) this.seal();
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
    // From here on, an answer still on its way is ignored: what is left is accounted for once, below.
    this.stopped = true;
    for (const c of this.sending) c.abort();
    for (const cancel of this.timers) cancel();
    this.timers.clear();
    this.pause?.();
    this.aggregator.stop();
    // With a spool, nothing left is marked done, so it all stays for the next start.
    if (this.spool) this.spool.close();
    else {
      for (const q of this.unsettled.values()) {
        this.stats.inc('usageDropped', q.count);
        this.report(new UsageDeliveryError('ecom9-gate: usage event not confirmed delivered by close()', q.event));
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
    while (this.pause === undefined && this.inflight < this.opts.concurrency && this.ready.length > 0) {
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
    let r: UsageRecordResult;
    const abort = new AbortController();
    this.sending.add(abort);
    try {
      r = await this.client.usage.record(
        {
          accountRefId: e.accountRefId,
          productCode: e.product,
          meterCode: e.meter,
          quantity: e.quantity,
          eventKey: e.eventKey,
          ...(e.metadata ? { metadata: e.metadata } : {}),
        },
        // The recorder owns the retry schedule (longer than a request's), so the client makes one attempt.
        { maxRetries: 0, signal: abort.signal },
      );
    } catch (err) {
      if (!this.stopped) this.failed(q, err);
      return;
    } finally {
      this.sending.delete(abort);
    }
    if (this.stopped) return;
    if (r.accepted) {
      this.stats.inc('usageSent', q.count);
      this.settle(q, true);
    } else this.refused(q, r.error_code ?? 'not accepted');
  }

  private failed(q: Queued, err: unknown): void {
    const kind = classify(err);
    if (kind === 'final') this.giveUp(q, 'ecom9 rejected the event', err, true);
    else if (kind === 'config') this.giveUp(q, `ecom9 refused the request (${(err as { status?: number }).status}): check apiKey and baseUrl`, err, false);
    else if (q.attempts >= this.opts.maxAttempts) this.giveUp(q, `not delivered after ${q.attempts} attempts`, err, false);
    else {
      const asked = askedWaitMs(err);
      // A 429 is about us, not this event: no send starts until the time it asks has passed.
      if (err instanceof RateLimitError && asked > 0) this.pauseFor(asked);
      this.stats.inc('usageRetried');
      this.later(
        () => {
          if (!this.unsettled.has(q.seq)) return;
          this.ready.push(q);
          this.pump();
        },
        backoffMs(q.attempts, this.opts.retryBaseMs, this.opts.retryMaxMs, asked),
      );
    }
  }

  private pauseFor(ms: number): void {
    // The latest 429 is the freshest word on when to come back.
    this.pause?.();
    this.pause = this.later(() => {
      this.pause = undefined;
      this.pump();
    }, ms);
  }

  private later(fn: () => void, ms: number): () => void {
    const cancel = this.schedule(() => {
      this.timers.delete(cancel);
      fn();
    }, ms);
    this.timers.add(cancel);
    return () => {
      this.timers.delete(cancel);
      cancel();
    };
  }

  /** ecom9 answered `accepted: false` (e.g. invalid_usage_model): a configuration error, reported once per product and meter. */
  private refused(q: Queued, code: string): void {
    const tag = `${q.event.product}\u0000${q.event.meter}\u0000${code}`;
    this.stats.inc('usageFailed', q.count);
    if (!this.refusalsReported.has(tag)) {
      this.refusalsReported.add(tag);
      const hint = code === 'invalid_usage_model' ? ' (the product must use a postpaid usage model, and the meter belong to it)' : '';
      this.report(
        new UsageDeliveryError(
          `ecom9-gate: ecom9 refused usage of product "${q.event.product}", meter "${q.event.meter}": ${code}${hint}; ` +
            'further events refused this way are counted in usageFailed, not reported again',
          q.event,
        ),
      );
    }
    this.settle(q, true);
  }

  /** Reports and counts the event; `final` events are marked done, the others stay in the spool (if any). */
  private giveUp(q: Queued, why: string, cause: unknown, final: boolean): void {
    const spooled = !final && this.spool !== undefined;
    this.stats.inc('usageFailed', q.count);
    if (spooled) this.onSpooled?.(q.count);
    const what = spooled ? '; it stays in the spool and is sent again on the next start' : '';
    this.report(new UsageDeliveryError(`ecom9-gate: usage event ${q.event.eventKey}: ${why}${what}`, q.event, { cause, spooled }));
    this.settle(q, !spooled);
  }

  private settle(q: Queued, markDone: boolean): void {
    if (!this.unsettled.delete(q.seq)) return;
    this.pendingEvents -= q.count;
    if (markDone) this.spool?.done(q.event.eventKey);
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
