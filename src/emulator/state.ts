// The emulator's in-memory ecom9: accounts and their subscriptions, entitlements, credit balances, the
// debit ledger and usage events, with the idempotency ecom9 promises (one effect per event_key).
import { randomUUID } from 'node:crypto';
import type { ParsedFixtures, ParsedProductFixture, SubState } from './fixture-types';

export interface EmuSubscription {
  subscription: string;
  tier: string;
  state: SubState;
  createdAt: number;
  updatedAt: number;
}

export interface EmuAccount {
  ref: string;
  email: string;
  createdAt: number;
  subscriptions: EmuSubscription[];
  entitlements: Set<string>;
  transactions: Array<Record<string, string>>;
}

/** One debit the emulator answered, approved or refused. */
export interface LedgerRow {
  accountRefId: string;
  product: string;
  meter: string;
  quantity: number;
  eventKey: string;
  approved: boolean;
  at: number;
}

/** One usage event the emulator recorded. */
export interface UsageRow {
  accountRefId: string;
  product: string;
  meter: string;
  quantity: number;
  eventKey: string;
  at: number;
}

export type DebitAnswer = { approved: true; debited: number; remaining_balance: number } | { approved: false; error_code: string; remaining_balance: number };

const k = (...parts: string[]) => parts.join('\u0000');

export class EmulatorState {
  readonly products = new Map<string, ParsedProductFixture>();
  readonly accounts = new Map<string, EmuAccount>();
  private readonly balances = new Map<string, number>();
  private readonly debits = new Map<string, DebitAnswer>();
  private readonly usageByKey = new Map<string, UsageRow>();
  readonly ledger: LedgerRow[] = [];
  readonly usageEvents: UsageRow[] = [];

  constructor(
    fixtures: ParsedFixtures,
    readonly now: () => number,
  ) {
    this.load(fixtures);
  }

  private load(f: ParsedFixtures): void {
    for (const p of f.products) this.products.set(p.label_name, p);
    for (const a of f.accounts) {
      this.setAccount(a.account_ref_id, { customerEmail: a.customer_email, subscriptions: a.subscriptions });
      for (const e of a.entitlements) this.setEntitlement(a.account_ref_id, e.product, e.entitlement, true);
      for (const c of a.credits) this.setCredits(a.account_ref_id, c.product, c.meter, c.balance);
      const acc = this.accounts.get(a.account_ref_id) as EmuAccount;
      for (let i = 0; i < a.transactions; i++) acc.transactions.push(this.transaction(acc, i));
    }
  }

  productById(manageId: string): ParsedProductFixture | undefined {
    for (const p of this.products.values()) if (p.manage_id === manageId) return p;
    return undefined;
  }

  /** Creates or updates an account; what `a` leaves out (email, subscriptions) is kept. `subscriptions: []` removes them all. */
  setAccount(ref: string, a: { customerEmail?: string; subscriptions?: Array<{ subscription: string; tier: string; state?: SubState }> }): EmuAccount {
    const t = this.now();
    const prior = this.accounts.get(ref);
    const acc: EmuAccount = {
      ref,
      email: a.customerEmail ?? prior?.email ?? '',
      createdAt: prior?.createdAt ?? t,
      subscriptions:
        a.subscriptions?.map((s) => ({
          subscription: s.subscription,
          tier: s.tier,
          state: s.state ?? 'active',
          createdAt: t,
          updatedAt: t,
        })) ??
        prior?.subscriptions ??
        [],
      entitlements: prior?.entitlements ?? new Set(),
      transactions: prior?.transactions ?? [],
    };
    this.accounts.set(ref, acc);
    return acc;
  }

  /** Upserts one subscription; making a tier active ends the other active tiers of that subscription (an upgrade). */
  setSubscription(ref: string, subscription: string, tier: string, state: SubState): void {
    const acc = this.accounts.get(ref) ?? this.setAccount(ref, {});
    const t = this.now();
    if (state === 'active') {
      for (const s of acc.subscriptions) {
        if (s.subscription === subscription && s.tier !== tier && s.state === 'active') Object.assign(s, { state: 'canceled', updatedAt: t });
      }
    }
    const found = acc.subscriptions.find((s) => s.subscription === subscription && s.tier === tier);
    if (found) Object.assign(found, { state, updatedAt: t });
    else acc.subscriptions.push({ subscription, tier, state, createdAt: t, updatedAt: t });
  }

  removeAccount(ref: string): void {
    this.accounts.delete(ref);
  }

  setEntitlement(ref: string, product: string, entitlement: string, hasAccess: boolean): void {
    const acc = this.accounts.get(ref) ?? this.setAccount(ref, {});
    if (hasAccess) acc.entitlements.add(k(product, entitlement));
    else acc.entitlements.delete(k(product, entitlement));
  }

  /** The account's entitlements as (product, entitlement) pairs, sorted. */
  entitlementsOf(ref: string): Array<{ product: string; entitlement: string }> {
    return [...(this.accounts.get(ref)?.entitlements ?? [])].sort().map((e) => {
      const [product = '', entitlement = ''] = e.split('\u0000');
      return { product, entitlement };
    });
  }

  /** Every credit balance the account has been given, sorted by product and meter. */
  balancesOf(ref: string): Array<{ product: string; meter: string; balance: number }> {
    const out: Array<{ product: string; meter: string; balance: number }> = [];
    for (const [key, balance] of this.balances) {
      const [r, product = '', meter = ''] = key.split('\u0000');
      if (r === ref) out.push({ product, meter, balance });
    }
    return out.sort((a, b) => a.product.localeCompare(b.product) || a.meter.localeCompare(b.meter));
  }

  hasEntitlement(ref: string, product: string, entitlement: string): boolean {
    return this.accounts.get(ref)?.entitlements.has(k(product, entitlement)) ?? false;
  }

  setCredits(ref: string, product: string, meter: string, balance: number): void {
    this.balances.set(k(ref, product, meter), balance);
  }

  credits(ref: string, product: string, meter: string): number {
    return this.balances.get(k(ref, product, meter)) ?? 0;
  }

  /**
   * One effect per (account, event_key): a repeat returns the first answer and changes nothing. A
   * refusal is an answer too: the same key stays refused after a top-up (the reference's "same
   * effective result"), so a new attempt needs a new key.
   */
  debit(ref: string, product: string, meter: string, quantity: number, eventKey: string): DebitAnswer {
    const key = k(ref, eventKey);
    const prior = this.debits.get(key);
    if (prior) return prior;
    const p = this.products.get(product);
    let answer: DebitAnswer;
    if (p?.usage_model !== 'prepaid_credits' || !p.meters.includes(meter)) {
      answer = { approved: false, error_code: 'invalid_usage_model', remaining_balance: 0 };
    } else {
      const balance = this.credits(ref, product, meter);
      if (balance < quantity) answer = { approved: false, error_code: 'insufficient_credits', remaining_balance: balance };
      else {
        this.setCredits(ref, product, meter, balance - quantity);
        answer = { approved: true, debited: quantity, remaining_balance: balance - quantity };
      }
    }
    this.debits.set(key, answer);
    this.ledger.push({ accountRefId: ref, product, meter, quantity, eventKey, approved: answer.approved, at: this.now() });
    return answer;
  }

  recordUsage(
    ref: string,
    product: string,
    meter: string,
    quantity: number,
    eventKey: string,
  ): { accepted: boolean; error_code?: string; recorded_quantity?: number; idempotent?: boolean } {
    const p = this.products.get(product);
    if (!p?.usage_model || p.usage_model === 'prepaid_credits' || !p.meters.includes(meter)) return { accepted: false, error_code: 'invalid_usage_model' };
    const key = k(ref, eventKey);
    const prior = this.usageByKey.get(key);
    if (prior) return { accepted: true, recorded_quantity: prior.quantity, idempotent: true };
    const row: UsageRow = { accountRefId: ref, product, meter, quantity, eventKey, at: this.now() };
    this.usageByKey.set(key, row);
    this.usageEvents.push(row);
    return { accepted: true, recorded_quantity: quantity, idempotent: false };
  }

  usageTotal(ref: string, product: string, meter: string, start?: number, end?: number): number {
    let total = 0;
    for (const e of this.usageEvents) {
      if (e.accountRefId !== ref || e.product !== product || e.meter !== meter) continue;
      if (start !== undefined && e.at < start) continue;
      if (end !== undefined && e.at > end) continue;
      total += e.quantity;
    }
    return total;
  }

  private transaction(acc: EmuAccount, i: number): Record<string, string> {
    const at = new Date(this.now() - (i + 1) * 86_400_000).toISOString();
    return {
      transaction_uuid: randomUUID(),
      account_ref_id: acc.ref,
      status: i % 5 === 4 ? 'failed' : 'completed',
      amount: '29.99',
      currency: 'usd',
      customer_email: acc.email,
      created_at: at,
      updated_at: at,
    };
  }

  addTransactions(ref: string, n: number): void {
    const acc = this.accounts.get(ref) ?? this.setAccount(ref, {});
    for (let i = 0; i < n; i++) acc.transactions.push(this.transaction(acc, acc.transactions.length));
  }
}
