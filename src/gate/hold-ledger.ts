// The hold ledger: per account, product and meter, the balance a hold is judged against and the holds
// open on it. The balance is a short-lived local view: fetched from ecom9 when older than
// balanceTtlMs, and corrected meanwhile by every debit's remaining_balance, so a busy account costs one
// balance call per balanceTtlMs, not one per request. Every correction takes the lower of what this
// ledger expects and what ecom9 said, so a late answer can never raise the view (docs/credits.md).
// Hand-written rather than an lru-cache: a scope with open holds must never be evicted, and one
// without is dropped by the sweep once its view is stale.

/** Which balance a hold draws on. `id` joins the three with NUL (codes cannot contain it). */
export interface HoldScope {
  readonly ref: string;
  readonly product: string;
  readonly meter: string;
  readonly id: string;
}

export const scopeOf = (ref: string, product: string, meter: string): HoldScope => ({ ref, product, meter, id: `${ref}\u0000${product}\u0000${meter}` });

/** One hold asked of a ledger: its key, its quantity and when it stops counting. */
export interface ReserveAsk {
  readonly key: string;
  readonly quantity: number;
  /** When the reservation stops counting, on the gate's clock. */
  readonly expiresAt: number;
  /** Ask ecom9 even when the view is fresh (a denial on a view that may predate a top-up). */
  readonly refresh?: boolean;
}

/** A ledger's answer to a ReserveAsk: granted or not, and the balance it was judged against. */
export interface ReserveAnswer {
  readonly granted: boolean;
  /** The balance the hold was judged against. */
  readonly balance: number;
  /** What other open holds had reserved of it. */
  readonly held: number;
  /** How old the balance was (0 when just fetched). */
  readonly ageMs: number;
  /** 'upstream' when ecom9 was asked for this answer. */
  readonly source: 'cache' | 'upstream';
}

/** Where holds are counted: this process (MemoryLedger) or the fleet (the redisStore's ledger). */
export interface HoldLedger {
  /** Counts the hold if the balance less every open hold covers it. Rejects only with what `fetchBalance` threw, or the ledger's own outage. */
  reserve(scope: HoldScope, ask: ReserveAsk, fetchBalance: () => Promise<number>): Promise<ReserveAnswer>;
  /** The hold's debit came back (`debited` 0 when refused): its reservation ends, the view is corrected. */
  settled(scope: HoldScope, key: string, debited: number, remainingBalance: number | undefined): Promise<void>;
  /** The hold charged nothing: its reservation ends. */
  release(scope: HoldScope, key: string): Promise<void>;
  /** A debit made outside holds (chargeCredits) on the same balance corrects the view. */
  observe(scope: HoldScope, debited: number, remainingBalance: number | undefined): void;
  /** The account's balances may have changed (a webhook): the next hold asks ecom9. */
  invalidate(ref: string): void;
}

interface ScopeState {
  balance: number | undefined;
  fetchedAt: number;
  /** Everything this ledger saw debited: a fetch subtracts what was debited while it was in flight. */
  debited: number;
  /** Bumped by invalidate: a fetch that raced it is used once, never kept. */
  generation: number;
  loading: Promise<void> | undefined;
  readonly held: Map<string, { quantity: number; expiresAt: number }>;
  heldSum: number;
}

export class MemoryLedger implements HoldLedger {
  private readonly scopes = new Map<string, ScopeState>();

  constructor(
    private readonly now: () => number,
    private readonly balanceTtlMs: number,
  ) {}

  async reserve(scope: HoldScope, ask: ReserveAsk, fetchBalance: () => Promise<number>): Promise<ReserveAnswer> {
    const s = this.state(scope.id);
    let source: 'cache' | 'upstream' = 'cache';
    if (ask.refresh || s.balance === undefined || this.now() - s.fetchedAt >= this.balanceTtlMs) {
      await this.load(s, fetchBalance, ask.refresh === true);
      source = 'upstream';
    }
    const now = this.now();
    this.expire(s, now);
    const balance = s.balance ?? 0;
    const held = s.heldSum - (s.held.get(ask.key)?.quantity ?? 0);
    const ageMs = source === 'upstream' ? 0 : Math.max(0, now - s.fetchedAt);
    if (balance - held < ask.quantity) return { granted: false, balance, held, ageMs, source };
    this.drop(s, ask.key);
    s.held.set(ask.key, { quantity: ask.quantity, expiresAt: ask.expiresAt });
    s.heldSum += ask.quantity;
    return { granted: true, balance, held, ageMs, source };
  }

  async settled(scope: HoldScope, key: string, debited: number, remainingBalance: number | undefined): Promise<void> {
    const s = this.scopes.get(scope.id);
    if (!s) return;
    this.drop(s, key);
    this.correct(s, debited, remainingBalance);
  }

  async release(scope: HoldScope, key: string): Promise<void> {
    const s = this.scopes.get(scope.id);
    if (s) this.drop(s, key);
  }

  observe(scope: HoldScope, debited: number, remainingBalance: number | undefined): void {
    const s = this.scopes.get(scope.id);
    if (s) this.correct(s, debited, remainingBalance);
  }

  invalidate(ref: string): void {
    const prefix = `${ref}\u0000`;
    for (const [id, s] of this.scopes) {
      if (!id.startsWith(prefix)) continue;
      s.balance = undefined;
      s.generation++;
    }
  }

  /** Drops expired reservations everywhere, and scopes that hold nothing and whose view is stale. */
  sweep(): void {
    const now = this.now();
    for (const [id, s] of this.scopes) {
      this.expire(s, now);
      if (s.held.size === 0 && s.loading === undefined && (s.balance === undefined || now - s.fetchedAt >= this.balanceTtlMs)) this.scopes.delete(id);
    }
  }

  /** Open reservations of a scope (for tests and the testing kit). */
  heldIn(scopeId: string): number {
    return this.scopes.get(scopeId)?.heldSum ?? 0;
  }

  private state(id: string): ScopeState {
    let s = this.scopes.get(id);
    if (!s) {
      s = { balance: undefined, fetchedAt: 0, debited: 0, generation: 0, loading: undefined, held: new Map(), heldSum: 0 };
      this.scopes.set(id, s);
    }
    return s;
  }

  /** One fetch per scope at a time; every hold waiting on a cold view joins it. */
  private load(s: ScopeState, fetchBalance: () => Promise<number>, fresh: boolean): Promise<void> {
    if (s.loading && !fresh) return s.loading;
    const debitedBefore = s.debited;
    const generation = s.generation;
    const p = fetchBalance().then((fetched) => {
      // Debits answered while the fetch was in flight may or may not be in its answer: subtracted,
      // so the view errs low (a hold refused a little early), never high.
      s.balance = fetched - (s.debited - debitedBefore);
      s.fetchedAt = generation === s.generation ? this.now() : Number.NEGATIVE_INFINITY;
    });
    const tracked = p.finally(() => {
      if (s.loading === tracked) s.loading = undefined;
    });
    s.loading = tracked;
    return tracked;
  }

  private correct(s: ScopeState, debited: number, remainingBalance: number | undefined): void {
    s.debited += debited;
    if (s.balance === undefined) return;
    const expected = s.balance - debited;
    s.balance = remainingBalance === undefined ? expected : Math.min(expected, remainingBalance);
  }

  private expire(s: ScopeState, now: number): void {
    for (const [key, h] of s.held) if (h.expiresAt <= now) this.drop(s, key);
  }

  private drop(s: ScopeState, key: string): void {
    const h = s.held.get(key);
    if (!h) return;
    s.held.delete(key);
    s.heldSum -= h.quantity;
  }
}
