// The usage sender: a small pool that delivers queued events to ecom9, each with its own event_key
// on every attempt (so a retry never counts twice), backing off between attempts and waiting at
// least as long as a 429 asks. It settles every event it was given exactly once: delivered, refused
// for good, or given up on (reported and counted); what it does with the journal is its owner's.
import type { Ecom9Client, UsageRecordResult } from '../client';
import { RateLimitError, UsageDeliveryError } from '../shared/errors';
import type { StatsRecorder } from '../shared/stats';
import { askedWaitMs, backoffMs, classify } from './policy';
import type { SpooledEvent } from './spool';

export interface SenderOptions {
  concurrency: number;
  maxAttempts: number;
  retryBaseMs: number;
  retryMaxMs: number;
}

export interface SenderHooks {
  /** Runs `fn` after `ms` and returns a cancel. */
  schedule: (fn: () => void, ms: number) => () => void;
  /**
   * One event is settled: `done` when it is finished with for good (delivered, or refused by ecom9),
   * false when it was given up on but may be sent again from the journal on the next start.
   */
  settled: (event: SpooledEvent, count: number, done: boolean) => void;
  /** Whether an event given up on stays in a journal (so is not lost, only late). */
  journaled: boolean;
  /** Told how many events were given up on and kept in the journal. */
  onSpooled?: ((count: number) => void) | undefined;
}

interface Queued {
  readonly event: SpooledEvent;
  readonly seq: number;
  /** How many recorded events it carries: 1, or more for an aggregate. */
  readonly count: number;
  attempts: number;
}

export class UsageSender {
  private readonly ready: Queued[] = [];
  /** Every event not yet settled, in enqueue order (a Map keeps insertion order), for flush(). */
  private readonly unsettled = new Map<number, Queued>();
  private readonly flushWaiters: Array<{ upTo: number; resolve: () => void }> = [];
  private readonly timers = new Set<() => void>();
  // One controller per send, made where the send starts, aborted by stop(): in a Worker an AbortSignal
  // belongs to the request that made it, and any other request touching it throws, so one for the
  // sender's life (made in the first request) would fail every later request's sends.
  private readonly sending = new Set<AbortController>();
  private inflight = 0;
  private nextSeq = 0;
  private stopped = false;
  /** While ecom9 asks us (429) to wait: no send starts. Cancels the pending resume. */
  private pause: (() => void) | undefined;
  /** Products and meters whose refusal by ecom9 was already reported (reported once, counted always). */
  private readonly refusalsReported = new Set<string>();

  constructor(
    private readonly client: Ecom9Client,
    private readonly opts: SenderOptions,
    private readonly stats: StatsRecorder,
    private readonly report: (err: unknown) => void,
    private readonly hooks: SenderHooks,
  ) {}

  /** Events queued or in flight. */
  get size(): number {
    return this.unsettled.size;
  }

  enqueue(event: SpooledEvent, count: number): void {
    const q: Queued = { event, seq: this.nextSeq++, count, attempts: 0 };
    this.unsettled.set(q.seq, q);
    this.ready.push(q);
    this.pump();
  }

  /** Resolves once every event enqueued before the call is settled. */
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

  /** Stops sending: answers still on their way are ignored. Returns what was not settled (each once). */
  stop(): Array<{ event: SpooledEvent; count: number }> {
    this.stopped = true;
    for (const c of this.sending) c.abort();
    for (const cancel of this.timers) cancel();
    this.timers.clear();
    this.pause?.();
    const left = [...this.unsettled.values()].map((q) => ({ event: q.event, count: q.count }));
    this.unsettled.clear();
    this.ready.length = 0;
    for (const w of this.flushWaiters.splice(0)) w.resolve();
    return left;
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
        // The sender owns the retry schedule (longer than a request's), so the client makes one attempt.
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
    const cancel = this.hooks.schedule(() => {
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

  /** Reports and counts the event; `final` events are finished with, the others stay in the journal (if any). */
  private giveUp(q: Queued, why: string, cause: unknown, final: boolean): void {
    const spooled = !final && this.hooks.journaled;
    this.stats.inc('usageFailed', q.count);
    if (spooled) this.hooks.onSpooled?.(q.count);
    const what = spooled ? '; it stays in the spool and is sent again on the next start' : '';
    this.report(new UsageDeliveryError(`ecom9-gate: usage event ${q.event.eventKey}: ${why}${what}`, q.event, { cause, spooled }));
    this.settle(q, !spooled);
  }

  private settle(q: Queued, done: boolean): void {
    if (!this.unsettled.delete(q.seq)) return;
    this.hooks.settled(q.event, q.count, done);
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
