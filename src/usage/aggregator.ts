// Usage events without their own key are summed per account, product and meter over a short window
// and sent as one event: a service metering every request would otherwise send ecom9 one call per
// request (and meet its rate limit long before its own). Keyed events are never summed: their key is
// what makes a retried request count once.
import { randomUUID } from 'node:crypto';
import type { SpooledEvent } from './spool';

// With a spool, a bucket names every journaled part it replaces; past this many parts it is sealed
// early, so the parts held in memory (and the journal line naming them) stay bounded under load.
export const MAX_PARTS = 1_000;

interface Bucket {
  /** The key the sum is sent under, fixed when the bucket opens (so every retry carries it). */
  eventKey: string;
  accountRefId: string;
  product: string;
  meter: string;
  quantity: number;
  count: number;
  /** The keys of the journaled raw events, kept only with a spool (to name what the sum replaces). */
  parts: string[] | undefined;
}

export interface Sealed {
  event: SpooledEvent;
  count: number;
  /** The keys of the journaled raw events this aggregate replaces. */
  parts: string[] | undefined;
}

export class Aggregator {
  private readonly buckets = new Map<string, Bucket>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly windowMs: number,
    private readonly keepParts: boolean,
    private readonly onWindow: () => void,
  ) {}

  static keyOf(accountRefId: string, product: string, meter: string): string {
    return `${accountRefId}\u0000${product}\u0000${meter}`;
  }

  /** Whether an event for this bucket key would open a new bucket (and so take a queue slot). */
  opens(key: string): boolean {
    return !this.buckets.has(key);
  }

  /** Adds to the bucket and returns the key its sum will be sent under. */
  add(key: string, accountRefId: string, product: string, meter: string, quantity: number, partKey: string | undefined): string {
    let b = this.buckets.get(key);
    if (b === undefined) {
      b = { eventKey: `agg_${randomUUID()}`, accountRefId, product, meter, quantity: 0, count: 0, parts: this.keepParts ? [] : undefined };
      this.buckets.set(key, b);
    }
    b.quantity += quantity;
    b.count++;
    if (partKey !== undefined) b.parts?.push(partKey);
    if (this.timer === undefined) {
      this.timer = setTimeout(this.onWindow, this.windowMs);
      this.timer.unref();
    }
    if (b.parts !== undefined && b.parts.length >= MAX_PARTS) this.onWindow();
    return b.eventKey;
  }

  /** Every open bucket as one event, under the key fixed when it opened. */
  seal(): Sealed[] {
    clearTimeout(this.timer);
    this.timer = undefined;
    const out: Sealed[] = [];
    for (const b of this.buckets.values()) {
      out.push({
        event: { accountRefId: b.accountRefId, product: b.product, meter: b.meter, quantity: b.quantity, eventKey: b.eventKey },
        count: b.count,
        parts: b.parts,
      });
    }
    this.buckets.clear();
    return out;
  }

  /** Open buckets: each will become one queued event. */
  get size(): number {
    return this.buckets.size;
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }
}
