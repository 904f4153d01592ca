// reserveCredits: grants holds against the balance less every open hold (in this process, or the
// fleet's through the redisStore's ledger), charges each once, closes the ones left open past
// credits.holdTtlMs, and with a spool charges on start-up what a killed process had used.
import { createHash, randomUUID } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { ValidationError, type Ecom9Client } from '../client';
import type { Access, FailMode } from './access';
import { allow, deny, type Decision } from './decision';
import { explainRef } from '../shared/account-ref';
import { ArgumentError, HoldChargeError, HoldLedgerUnavailableError, UsageSpoolError, type HoldRef } from '../shared/errors';
import { isCode, isEcom9NotFound, isQuantity } from '../shared/rules';
import type { StatsRecorder } from '../shared/stats';
import { HoldImpl, type Hold, type HoldOwner, type HoldSettlement } from './hold';
import type { HoldJournal, JournaledHold } from '../usage/hold-journal';
import { MemoryLedger, scopeOf, type HoldLedger, type ReserveAnswer, type HoldScope } from './hold-ledger';

export interface ReserveOptions {
  product: string;
  meter: string;
  /** The most the work may cost: a positive integer. */
  quantity: number;
  /**
   * The hold's key. The same key on the same account, product and meter, while its hold is open,
   * returns that hold; once settled, a new hold under it debits under the same event_key, which
   * ecom9 answers with the first debit (never charged twice). @default a fresh UUID
   */
  key?: string;
  /** When ecom9 (the balance) or the fleet's ledger (Redis) cannot be reached: refuse with 503, or grant. @default 'closed' */
  failMode?: FailMode;
  /** A top-up link for the 402. */
  topUpUrl?: string;
}

/** reserveCredits' answer: the hold when granted; else the denial (402 insufficient_credits, 503, 401, 500). */
export interface Reservation {
  readonly decision: Decision;
  readonly hold: Hold | undefined;
}

/** An open hold, as `gate.openHolds()` lists it. */
export interface OpenHold {
  readonly accountRefId: string;
  readonly product: string;
  readonly meter: string;
  readonly key: string;
  readonly reserved: number;
  readonly used: number;
  /** When credits.holdTtlMs closes it, on the gate's clock. */
  readonly expiresAt: number;
}

export interface HoldsDeps {
  client: Ecom9Client;
  access: Access;
  stats: StatsRecorder;
  report: (err: unknown) => void;
  now: () => number;
  holdTtlMs: number;
  balanceTtlMs: number;
  /** The fleet's ledger (a redisStore), when there is one. */
  fleet?: HoldLedger | undefined;
  /** With usage.spoolPath: the hold journal (`${spoolPath}.holds`), opened by createGate. */
  journal?: HoldJournal | undefined;
}

// A denial judged on a view at least this old asks ecom9 again first: a top-up is seen at once,
// while an account that keeps asking past its balance costs at most one balance call per second.
const RECHECK_DENIAL_AFTER_MS = 1_000;
const SWEEP_MAX_MS = 30_000;
// Keys of holds this process charged, so a retry under one is granted without the balance it was
// already charged against (its settle is answered with the first debit). Bounded; past it, a retry
// is judged on the balance again, and still never charged twice.
const CHARGED_KEYS_MAX = 10_000;

export class Holds implements HoldOwner {
  readonly local: MemoryLedger;
  private readonly open = new Map<string, HoldImpl>();
  private readonly charged: LRUCache<string, true>;
  private readonly reserving = new Map<string, Promise<Reservation>>();
  private readonly inflight = new Set<Promise<unknown>>();
  private readonly journalFile: HoldJournal | undefined;
  private readonly sweeper: ReturnType<typeof setInterval>;
  private ledgerDownReported = false;
  /** The earliest expiry among open holds: sweep() does nothing before it. */
  private nextExpiry = Number.POSITIVE_INFINITY;
  private closed = false;

  constructor(private readonly d: HoldsDeps) {
    this.local = new MemoryLedger(d.now, d.balanceTtlMs);
    this.charged = new LRUCache({ max: CHARGED_KEYS_MAX, ttl: d.holdTtlMs, perf: { now: d.now } });
    if (d.journal) {
      this.journalFile = d.journal;
      if (this.journalFile.skipped > 0) {
        d.report(new UsageSpoolError(`ecom9-gate: hold journal ${this.journalFile.path}: skipped ${this.journalFile.skipped} unreadable line(s)`));
      }
      for (const p of this.journalFile.pending) this.track(this.recover(p));
    }
    this.sweeper = setInterval(
      () => {
        this.sweep();
        this.local.sweep();
      },
      Math.min(d.holdTtlMs, SWEEP_MAX_MS),
    );
    this.sweeper.unref();
  }

  async reserve(ref: string, opts: ReserveOptions): Promise<Reservation> {
    if (typeof opts !== 'object' || opts === null) throw new ArgumentError('ecom9-gate: reserveCredits(ref, { product, meter, quantity }) needs options');
    const { product, meter, quantity } = opts;
    if (!isCode(product)) throw new ArgumentError('ecom9-gate: reserveCredits "product" must be a non-empty product code');
    if (!isCode(meter)) throw new ArgumentError('ecom9-gate: reserveCredits "meter" must be a non-empty meter code');
    if (!isQuantity(quantity)) throw new ArgumentError('ecom9-gate: reserveCredits "quantity" must be a positive integer');
    if (opts.key !== undefined && (typeof opts.key !== 'string' || opts.key === ''))
      throw new ArgumentError('ecom9-gate: reserveCredits "key" must be a non-empty string');
    const base = { accountRefId: ref, product, meter, requested: quantity };
    const bad = explainRef(ref);
    if (bad) return { decision: deny('account_unresolved', 'cache', { ...base, detail: bad }), hold: undefined };
    this.sweep();
    const scope = scopeOf(ref, product, meter);
    const key = opts.key ?? randomUUID();
    const id = `${scope.id}\u0000${key}`;
    const same = this.open.get(id);
    if (same) return { decision: allow('cache', base), hold: same };
    // The same key asked again while its first reservation is in flight (a client's retry racing it) joins it.
    const inFlight = this.reserving.get(id);
    if (inFlight) return inFlight;
    const expiresAt = this.d.now() + this.d.holdTtlMs;
    if (this.charged.has(id)) return { decision: allow('cache', base), hold: this.grant(scope, key, quantity, expiresAt, undefined) };
    const p = this.reserveNew(ref, opts, base, scope, key, expiresAt).finally(() => this.reserving.delete(id));
    this.reserving.set(id, p);
    return p;
  }

  private async reserveNew(
    ref: string,
    opts: ReserveOptions,
    base: { accountRefId: string; product: string; meter: string; requested: number },
    scope: HoldScope,
    key: string,
    expiresAt: number,
  ): Promise<Reservation> {
    const { product, meter, quantity } = opts;

    const failMode = opts.failMode ?? 'closed';
    const fetchBalance = () => this.d.client.credits.balance({ accountRefId: ref, productCode: product, meterCode: meter }).then((b) => b.balance);
    let ledger: HoldLedger | undefined = this.d.fleet ?? this.local;
    let answer: ReserveAnswer | undefined;
    try {
      answer = await this.ask(ledger, scope, key, quantity, expiresAt, fetchBalance);
    } catch (err) {
      if (err instanceof HoldLedgerUnavailableError) {
        this.ledgerDown(err);
        if (failMode === 'closed') {
          this.d.stats.inc('failClosedDenied');
          const detail = 'Credits could not be reserved right now; try again shortly.';
          return { decision: deny('upstream_unavailable', 'fallback', { ...base, retryAfterSeconds: 1, detail }), hold: undefined };
        }
        // failMode 'open': counted in this process only (docs/credits.md says what that risks).
        ledger = this.local;
        try {
          answer = await this.ask(ledger, scope, key, quantity, expiresAt, fetchBalance);
        } catch (e) {
          return this.balanceUnavailable(ref, e, failMode, base, scope, key, quantity, expiresAt);
        }
      } else {
        return this.balanceUnavailable(ref, err, failMode, base, scope, key, quantity, expiresAt);
      }
    }
    if (ledger === this.d.fleet) this.ledgerDownReported = false;
    if (!answer.granted) {
      this.d.stats.inc('holdsDenied');
      const held = answer.held > 0 ? `, of which ${answer.held} is held by work in progress` : '';
      return {
        decision: deny('insufficient_credits', answer.source, {
          ...base,
          remainingBalance: answer.balance,
          ...(opts.topUpUrl ? { topUpUrl: opts.topUpUrl } : {}),
          detail: `This may cost up to ${quantity} ${meter}; the balance is ${answer.balance}${held}.`,
        }),
        hold: undefined,
      };
    }
    return { decision: allow(answer.source, { ...base, remainingBalance: answer.balance }), hold: this.grant(scope, key, quantity, expiresAt, ledger) };
  }

  /** Holds still open to use() (all, or the account's), for tests, the testing kit and operators; not those whose debit is in flight. */
  openHolds(ref?: string): OpenHold[] {
    this.sweep();
    const out: OpenHold[] = [];
    for (const h of this.open.values()) {
      if (!h.accepting || (ref !== undefined && h.scope.ref !== ref)) continue;
      out.push({
        accountRefId: h.scope.ref,
        product: h.scope.product,
        meter: h.scope.meter,
        key: h.key,
        reserved: h.reserved,
        used: h.used,
        expiresAt: h.expiresAt,
      });
    }
    return out;
  }

  /** A chargeCredits debit on a balance holds also draw on corrects the view. */
  observeDebit(ref: string, product: string, meter: string, debited: number, remainingBalance: number | undefined): void {
    const scope = scopeOf(ref, product, meter);
    this.local.observe(scope, debited, remainingBalance);
    this.d.fleet?.observe(scope, debited, remainingBalance);
  }

  invalidate(ref: string): void {
    this.local.invalidate(ref);
    this.d.fleet?.invalidate(ref);
  }

  /**
   * Closes expired holds (charging what they used). On the request path it costs one comparison
   * until the earliest open hold is due; the timer also forgets idle balances.
   */
  sweep(): void {
    const now = this.d.now();
    if (now < this.nextExpiry) return;
    let next = Number.POSITIVE_INFINITY;
    for (const h of this.open.values()) {
      if (!h.live) continue;
      if (h.expiresAt > now) {
        if (h.expiresAt < next) next = h.expiresAt;
        continue;
      }
      if (h.accepting) this.d.stats.inc('holdsExpired');
      this.track(h.expire());
    }
    this.nextExpiry = next;
  }

  /** Resolves once every debit in flight (settlements, expiries, the journal's recoveries) is answered. */
  async flush(): Promise<void> {
    while (this.inflight.size > 0) await Promise.allSettled([...this.inflight]);
  }

  /** Charges what open holds used (their work was delivered), then waits for every debit in flight. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.sweeper);
    for (const h of this.open.values()) if (h.live) this.track(h.expire());
    while (this.inflight.size > 0) await Promise.allSettled([...this.inflight]);
    this.journalFile?.close();
  }

  // HoldOwner

  journal(h: HoldImpl): void {
    if (!this.journalFile) return;
    this.journalFile.used(this.journaledOf(h, h.used));
    h.journaled = true;
  }

  overrun(): void {
    // Nothing beyond `reserved` is charged: the hold promised the most the work would cost.
  }

  async discard(h: HoldImpl): Promise<void> {
    this.forget(h);
    if (h.journaled) this.journalFile?.done(h.eventKey);
    await h.ledger?.release(h.scope, h.key).catch((err: unknown) => this.ledgerDown(err));
  }

  charge(h: HoldImpl, quantity: number): Promise<HoldSettlement> {
    const p = this.chargeNow(h, quantity);
    this.track(p);
    return p;
  }

  private async chargeNow(h: HoldImpl, quantity: number): Promise<HoldSettlement> {
    if (quantity === 0) {
      await this.discard(h);
      return { debited: 0, remainingBalance: undefined, eventKey: h.eventKey };
    }
    // Journaled before the debit is sent: a crash while it is in flight re-sends the same one.
    if (this.journalFile) {
      this.journalFile.used(this.journaledOf(h, quantity));
      h.journaled = true;
    }
    const outcome = await this.debit(this.journaledOf(h, quantity));
    if (outcome.kind === 'failed') throw outcome.error;
    this.forget(h);
    if (this.journalFile) this.journalFile.done(h.eventKey);
    if (outcome.debited > 0) this.charged.set(`${h.scope.id}\u0000${h.key}`, true);
    await h.ledger?.settled(h.scope, h.key, outcome.debited, outcome.remainingBalance).catch((err: unknown) => this.ledgerDown(err));
    if (h.ledger !== this.local) this.local.observe(h.scope, outcome.debited, outcome.remainingBalance);
    return { debited: outcome.debited, remainingBalance: outcome.remainingBalance, eventKey: h.eventKey };
  }

  /**
   * One debit under the hold's event_key. Approved or refused for good, it is answered; a failure
   * to reach ecom9 (after the client's retries) is reported and left to a later settle() or the next start.
   */
  private async debit(
    j: JournaledHold,
  ): Promise<{ kind: 'answered'; debited: number; remainingBalance: number | undefined } | { kind: 'failed'; error: HoldChargeError }> {
    const key = j.key;
    const ref: HoldRef = { accountRefId: j.accountRefId, product: j.product, meter: j.meter, key, quantity: j.quantity, eventKey: j.eventKey };
    this.d.stats.inc('debits');
    let refused: string;
    let remainingBalance: number | undefined;
    try {
      const r = await this.d.client.credits.debit({
        accountRefId: j.accountRefId,
        productCode: j.product,
        meterCode: j.meter,
        quantity: j.quantity,
        eventKey: j.eventKey,
        metadata: { hold: key },
      });
      if (r.approved) {
        this.d.stats.inc('holdsCharged');
        return { kind: 'answered', debited: r.debited ?? j.quantity, remainingBalance: r.remaining_balance };
      }
      refused = r.error_code ?? 'insufficient_credits';
      remainingBalance = r.remaining_balance;
    } catch (e) {
      if (isEcom9NotFound(e)) refused = 'unknown account';
      else if (e instanceof ValidationError && e.status === 400) refused = 'validation_error';
      else {
        this.d.stats.inc('holdChargeErrors');
        const error = new HoldChargeError(
          `ecom9-gate: hold ${key} could not charge ${j.quantity} ${j.meter}: ${(e as Error)?.message ?? e}` +
            (this.journalFile ? ' (kept in the hold journal for the next start)' : ' (settle() again to retry)'),
          ref,
          { cause: e, journaled: this.journalFile !== undefined },
        );
        this.d.report(error);
        return { kind: 'failed', error };
      }
    }
    this.d.stats.inc('debitsDenied');
    this.d.stats.inc('holdChargeErrors');
    this.d.report(
      new HoldChargeError(`ecom9-gate: ecom9 refused the debit of hold ${key} (${j.quantity} ${j.meter}): ${refused}; the work was not charged`, ref),
    );
    return { kind: 'answered', debited: 0, remainingBalance };
  }

  /** A hold the last process left open: charged with its own event_key (a repeat is answered, not charged). */
  private async recover(j: JournaledHold): Promise<void> {
    const outcome = await this.debit(j);
    if (outcome.kind === 'failed' || this.closed) return;
    this.journalFile?.done(j.eventKey);
  }

  private async ask(
    ledger: HoldLedger,
    scope: HoldScope,
    key: string,
    quantity: number,
    expiresAt: number,
    fetchBalance: () => Promise<number>,
  ): Promise<ReserveAnswer> {
    const first = await ledger.reserve(scope, { key, quantity, expiresAt }, fetchBalance);
    if (first.granted || first.source === 'upstream' || first.ageMs < RECHECK_DENIAL_AFTER_MS) return first;
    return ledger.reserve(scope, { key, quantity, expiresAt, refresh: true }, fetchBalance);
  }

  private grant(scope: HoldScope, key: string, quantity: number, expiresAt: number, ledger: HoldLedger | undefined): HoldImpl {
    const eventKey = `hold_${createHash('sha256').update(`${scope.id}\u0000${key}`).digest('base64url')}`;
    const h = new HoldImpl(key, quantity, eventKey, scope, expiresAt, ledger, this);
    this.open.set(`${scope.id}\u0000${key}`, h);
    if (expiresAt < this.nextExpiry) this.nextExpiry = expiresAt;
    this.d.stats.inc('holdsGranted');
    return h;
  }

  private balanceUnavailable(
    ref: string,
    err: unknown,
    failMode: FailMode,
    base: { accountRefId: string; product: string; meter: string; requested: number },
    scope: HoldScope,
    key: string,
    quantity: number,
    expiresAt: number,
  ): Reservation {
    if (isEcom9NotFound(err)) {
      this.d.stats.inc('holdsDenied');
      return {
        decision: deny('insufficient_credits', 'upstream', { ...base, remainingBalance: 0, detail: 'ecom9 knows no credit balance for this account.' }),
        hold: undefined,
      };
    }
    const decision = this.d.access.unavailable(ref, err, failMode, base);
    // failMode 'open': granted uncounted (no balance to count against); settle() still charges it.
    return { decision, hold: decision.allowed ? this.grant(scope, key, quantity, expiresAt, undefined) : undefined };
  }

  private ledgerDown(err: unknown): void {
    if (this.ledgerDownReported) return;
    this.ledgerDownReported = true;
    this.d.report(
      err instanceof HoldLedgerUnavailableError
        ? err
        : new HoldLedgerUnavailableError(`ecom9-gate: the fleet's hold ledger (Redis) failed: ${(err as Error)?.message ?? err}`, { cause: err }),
    );
  }

  private journaledOf(h: HoldImpl, quantity: number): JournaledHold {
    return { accountRefId: h.scope.ref, product: h.scope.product, meter: h.scope.meter, quantity, eventKey: h.eventKey, key: h.key };
  }

  private forget(h: HoldImpl): void {
    const id = `${h.scope.id}\u0000${h.key}`;
    if (this.open.get(id) === h) this.open.delete(id);
  }

  private track(p: Promise<unknown>): void {
    const t = p.catch(() => {}).finally(() => this.inflight.delete(t));
    this.inflight.add(t);
  }
}
