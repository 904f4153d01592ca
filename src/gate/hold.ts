// One hold: credits reserved for work whose price is known at its end. use(n) only adds (and journals);
// the first settle() makes the one debit and every later call gets its answer, so however a hold is
// settled, retried or expired it debits at most once, under an event_key fixed when it was made.
import { ArgumentError, HoldClosedError } from '../shared/errors';
import { isQuantity } from '../shared/rules';
import type { HoldLedger, HoldScope } from './hold-ledger';

/** What settle() did. */
export interface HoldSettlement {
  /** Credits ecom9 debited: 0 when nothing was used, the hold was released, or ecom9 refused the debit. */
  readonly debited: number;
  /** ecom9's balance after the debit, when it answered one. */
  readonly remainingBalance: number | undefined;
  /** The debit's event_key (derived from the hold's key). */
  readonly eventKey: string;
}

/** Credits reserved by `gate.reserveCredits` (or an adapter's `reserveCredits`), charged once for what was used. */
export interface Hold {
  /** The hold's key: the one given to reserveCredits, else a fresh UUID. The debit's event_key derives from it. */
  readonly key: string;
  /** The most this hold may charge. */
  readonly reserved: number;
  /** What use() added up so far (never above `reserved`). */
  readonly used: number;
  /** True once the hold can charge nothing more: settled, released or expired. */
  readonly settled: boolean;
  /** Adds `n` (a positive integer) to what was used. Synchronous; journaled with `usage.spoolPath`. Throws HoldClosedError once settled. */
  use(n: number): void;
  /**
   * Debits `used` (or `n`, at most `reserved`) in one debit; 0 debits nothing. Every later call
   * resolves with the same answer. Rejects with a HoldChargeError when the debit could not be sent
   * (after the client's retries): calling it again retries with the same event_key.
   */
  settle(n?: number): Promise<HoldSettlement>;
  /** Gives the reservation back without charging (what was used is forgiven). */
  release(): Promise<void>;
}

/** What a hold asks of the gate that made it. */
export interface HoldOwner {
  /** Journals a use (with a spool). */
  journal(h: HoldImpl): void;
  /** Makes the one debit (0: none) and ends the reservation. */
  charge(h: HoldImpl, quantity: number): Promise<HoldSettlement>;
  /** Ends the reservation without a debit. */
  discard(h: HoldImpl): Promise<void>;
  /** Counts a use beyond `reserved`, which is not charged. */
  overrun(h: HoldImpl, by: number): void;
}

type State = 'open' | 'settling' | 'failed' | 'settled' | 'released';

export class HoldImpl implements Hold {
  private usedSoFar = 0;
  private state: State = 'open';
  private settling: Promise<HoldSettlement> | undefined;
  /** Set once a use is in the journal: closing the hold must mark it done there. */
  journaled = false;

  constructor(
    readonly key: string,
    readonly reserved: number,
    readonly eventKey: string,
    readonly scope: HoldScope,
    readonly expiresAt: number,
    /** Where the reservation is counted; undefined for a hold granted uncounted (failMode 'open'). */
    readonly ledger: HoldLedger | undefined,
    private readonly owner: HoldOwner,
  ) {}

  get used(): number {
    return this.usedSoFar;
  }

  get settled(): boolean {
    return this.state === 'settled' || this.state === 'released';
  }

  /** Still open to use(): not yet settling, settled or released. */
  get accepting(): boolean {
    return this.state === 'open';
  }

  /** Still counted against the balance (open, or its debit not yet answered). */
  get live(): boolean {
    return this.state !== 'settled' && this.state !== 'released';
  }

  use(n: number): void {
    if (!isQuantity(n)) throw new ArgumentError('ecom9-gate: hold.use(n) needs a positive integer');
    if (this.state !== 'open')
      throw new HoldClosedError(`ecom9-gate: hold ${this.key} is ${this.state === 'failed' ? 'settling' : this.state}; use() can add nothing`);
    const next = this.usedSoFar + n;
    if (next > this.reserved) this.owner.overrun(this, next - this.reserved);
    const capped = Math.min(next, this.reserved);
    if (capped === this.usedSoFar) return;
    this.usedSoFar = capped;
    this.owner.journal(this);
  }

  settle(n?: number): Promise<HoldSettlement> {
    if (this.settling) return this.settling;
    if (this.state === 'released') return Promise.resolve({ debited: 0, remainingBalance: undefined, eventKey: this.eventKey });
    if (n !== undefined && !(n === 0 || isQuantity(n))) return Promise.reject(new ArgumentError('ecom9-gate: hold.settle(n) needs a whole number of credits'));
    if (n !== undefined && n > this.reserved) this.owner.overrun(this, n - this.reserved);
    // A retry after a failed debit charges what the first attempt sent: the same event_key, the same quantity.
    const quantity = this.state === 'failed' ? this.usedSoFar : Math.min(n ?? this.usedSoFar, this.reserved);
    this.usedSoFar = quantity;
    this.state = 'settling';
    const p = this.owner.charge(this, quantity).then(
      (r) => {
        this.state = 'settled';
        return r;
      },
      (err: unknown) => {
        this.state = 'failed';
        this.settling = undefined;
        throw err;
      },
    );
    this.settling = p;
    return p;
  }

  async release(): Promise<void> {
    if (this.state !== 'open') return;
    this.state = 'released';
    await this.owner.discard(this);
  }

  /** Closed by expiry: what was used is charged (work delivered), else the reservation is given back. */
  expire(): Promise<unknown> {
    if (this.state === 'open' && this.usedSoFar === 0) return this.release();
    if (this.state === 'open' || this.state === 'failed') return this.settle();
    return this.settling ?? Promise.resolve();
  }
}
