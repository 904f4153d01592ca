// Usage events without their own key are summed per account, product and meter over a short window
// and sent as one event: a service metering every request would otherwise send ecom9 one call per
// request (and meet its rate limit long before its own). Keyed events are never summed: their key is
// what makes a retried request count once.
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
  /** The account's bucket for another product or meter (an app meters a handful per account). */
  next: Bucket | undefined;
}

export interface Sealed {
  event: SpooledEvent;
  count: number;
  /** The keys of the journaled raw events this aggregate replaces. */
  parts: string[] | undefined;
}

export class Aggregator {
  // By account, then a short chain by product and meter: a request's ref is a fresh string, hashed
  // once here, instead of a composite key concatenated and hashed per event.
  private readonly buckets = new Map<string, Bucket>();
  private open = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly windowMs: number,
    private readonly keepParts: boolean,
    private readonly onWindow: () => void,
  ) {}

  private find(accountRefId: string, product: string, meter: string): Bucket | undefined {
    let b = this.buckets.get(accountRefId);
    while (b !== undefined && (b.product !== product || b.meter !== meter)) b = b.next;
    return b;
  }

  /** Whether an event for this account, product and meter would open a new bucket (and so take a queue slot). */
  opens(accountRefId: string, product: string, meter: string): boolean {
    return this.find(accountRefId, product, meter) === undefined;
  }

  /** Adds to the bucket and returns the key its sum will be sent under. */
  add(accountRefId: string, product: string, meter: string, quantity: number, partKey: string | undefined): string {
    let b = this.find(accountRefId, product, meter);
    if (b === undefined) {
      const next = this.buckets.get(accountRefId);
      b = { eventKey: `agg_${crypto.randomUUID()}`, accountRefId, product, meter, quantity: 0, count: 0, parts: this.keepParts ? [] : undefined, next };
      this.buckets.set(accountRefId, b);
      this.open++;
    }
    b.quantity += quantity;
    b.count++;
    if (partKey !== undefined) b.parts?.push(partKey);
    if (this.timer === undefined) {
      this.timer = setTimeout(this.onWindow, this.windowMs);
      // A number on the edge, where there is no process to hold open.
      (this.timer as { unref?: () => void }).unref?.();
    }
    if (b.parts !== undefined && b.parts.length >= MAX_PARTS) this.onWindow();
    return b.eventKey;
  }

  /** Every open bucket as one event, under the key fixed when it opened. */
  seal(): Sealed[] {
    clearTimeout(this.timer);
    this.timer = undefined;
    const out: Sealed[] = [];
    for (const head of this.buckets.values()) {
      for (let b: Bucket | undefined = head; b !== undefined; b = b.next) {
        out.push({
          event: { accountRefId: b.accountRefId, product: b.product, meter: b.meter, quantity: b.quantity, eventKey: b.eventKey },
          count: b.count,
          parts: b.parts,
        });
      }
    }
    this.buckets.clear();
    this.open = 0;
    return out;
  }

  /** Open buckets: each will become one queued event. */
  get size(): number {
    return this.open;
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }
}
