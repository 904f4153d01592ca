// Usage events without their own key are summed per account, product and meter over a short window
// and sent as one event: a service metering every request would otherwise send ecom9 one call per
// request (and meet its rate limit long before its own). Keyed events are never summed: their key is
// what makes a retried request count once.
import { randomUUID } from 'node:crypto';
import type { SpooledEvent } from './spool';

interface Bucket {
  accountRefId: string;
  product: string;
  meter: string;
  quantity: number;
  count: number;
  /** The raw events, journaled one by one, kept only with a spool (to name what an aggregate replaces). */
  raw: SpooledEvent[] | undefined;
}

export interface Sealed {
  event: SpooledEvent;
  count: number;
  /** The journaled raw events this aggregate replaces. */
  raw: SpooledEvent[] | undefined;
}

export class Aggregator {
  private readonly buckets = new Map<string, Bucket>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly windowMs: number,
    private readonly keepRaw: boolean,
    private readonly onWindow: () => void,
  ) {}

  add(accountRefId: string, product: string, meter: string, quantity: number, raw: SpooledEvent | undefined): void {
    const key = `${accountRefId}\u0000${product}\u0000${meter}`;
    let b = this.buckets.get(key);
    if (b === undefined) {
      b = { accountRefId, product, meter, quantity: 0, count: 0, raw: this.keepRaw ? [] : undefined };
      this.buckets.set(key, b);
    }
    b.quantity += quantity;
    b.count++;
    if (raw) b.raw?.push(raw);
    if (this.timer === undefined) {
      this.timer = setTimeout(this.onWindow, this.windowMs);
      this.timer.unref();
    }
  }

  /** Every open bucket as one event with a fresh key (fixed now, so every retry carries the same one). */
  seal(): Sealed[] {
    clearTimeout(this.timer);
    this.timer = undefined;
    const out: Sealed[] = [];
    for (const b of this.buckets.values()) {
      out.push({
        event: { accountRefId: b.accountRefId, product: b.product, meter: b.meter, quantity: b.quantity, eventKey: `agg_${randomUUID()}` },
        count: b.count,
        raw: b.raw,
      });
    }
    this.buckets.clear();
    return out;
  }

  /** Raw events waiting in open buckets (journaled, not yet part of an aggregate). */
  openRaw(): SpooledEvent[] {
    const out: SpooledEvent[] = [];
    for (const b of this.buckets.values()) if (b.raw) out.push(...b.raw);
    return out;
  }

  get open(): boolean {
    return this.buckets.size > 0;
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }
}
