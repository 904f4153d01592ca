// Prepaid credit debits: never cached, retried by the client only with the same event_key, so a
// retry can never charge twice. Business answers (approved or not) become Decisions; ecom9 failures
// follow the call's failMode, which for money defaults to closed whatever the gate's default is.
import { randomUUID } from 'node:crypto';
import { ValidationError, type Ecom9Client } from '../client';
import { explainRef } from '../shared/account-ref';
import { ArgumentError, MisconfigurationError } from '../shared/errors';
import { allow, deny, type Decision } from './decision';
import type { Access, FailMode } from './access';
import { isCode, isEcom9NotFound, isQuantity } from '../shared/rules';
import type { StatsRecorder } from '../shared/stats';

export interface DebitInput {
  accountRefId: string;
  product: string;
  meter: string;
  /** Positive integer. */
  quantity: number;
  /** Idempotency key: the same key is never charged twice. A fresh UUID when omitted. */
  eventKey?: string;
  metadata?: Record<string, unknown>;
  /** `open` lets the request through uncharged when ecom9 is unreachable. @default 'closed' */
  failMode?: FailMode;
}

/** A debit's Decision, with what was debited under which event key. */
export type CreditDecision = Decision & {
  readonly debited: number;
  readonly eventKey: string;
};

export class Credits {
  private readonly misconfigReported = new Set<string>();

  constructor(
    private readonly client: Ecom9Client,
    private readonly access: Access,
    private readonly stats: StatsRecorder,
    private readonly report: (err: unknown) => void,
  ) {}

  async debit(input: DebitInput): Promise<CreditDecision> {
    const { accountRefId: ref, product, meter, quantity } = input;
    if (!isCode(product)) throw new ArgumentError('ecom9-gate: debit "product" must be a non-empty product code');
    if (!isCode(meter)) throw new ArgumentError('ecom9-gate: debit "meter" must be a non-empty meter code');
    if (!isQuantity(quantity)) throw new ArgumentError('ecom9-gate: debit "quantity" must be a positive integer');
    const eventKey = input.eventKey ?? randomUUID();
    const base = { accountRefId: ref, product, meter, requested: quantity, eventKey };
    const bad = explainRef(ref);
    if (bad) return { ...deny('account_unresolved', 'cache', { ...base, detail: bad }), debited: 0, eventKey };
    this.stats.inc('debits');
    try {
      const r = await this.client.credits.debit({
        accountRefId: ref,
        productCode: product,
        meterCode: meter,
        quantity,
        eventKey,
        ...(input.metadata ? { metadata: input.metadata } : {}),
      });
      const remainingBalance = r.remaining_balance;
      if (r.approved) return { ...allow('upstream', { ...base, remainingBalance, debited: r.debited ?? quantity }), debited: r.debited ?? quantity, eventKey };
      this.stats.inc('debitsDenied');
      if (r.error_code === 'insufficient_credits' || r.error_code === undefined) {
        return {
          ...deny('insufficient_credits', 'upstream', {
            ...base,
            remainingBalance,
            detail: `This costs ${quantity} ${meter}; the balance is ${remainingBalance}.`,
          }),
          debited: 0,
          eventKey,
        };
      }
      return this.misconfigured(base, eventKey, r.error_code);
    } catch (e) {
      if (isEcom9NotFound(e)) {
        this.stats.inc('debitsDenied');
        return {
          ...deny('insufficient_credits', 'upstream', { ...base, remainingBalance: 0, detail: 'ecom9 knows no credit balance for this account.' }),
          debited: 0,
          eventKey,
        };
      }
      if (e instanceof ValidationError && e.status === 400) return this.misconfigured(base, eventKey, 'validation_error', e);
      // An outage follows failMode; a refused API key or a foreign 404 is a 500 (see Access.unavailable).
      return { ...this.access.unavailable(ref, e, input.failMode ?? 'closed', base), debited: 0, eventKey };
    }
  }

  /** A route whose product or meter ecom9 refuses: a 500, and one report per product, meter and cause. */
  private misconfigured(base: { product: string; meter: string }, eventKey: string, why: string, cause?: unknown): CreditDecision {
    const tag = `${base.product}\u0000${base.meter}\u0000${why}`;
    if (!this.misconfigReported.has(tag)) {
      this.misconfigReported.add(tag);
      this.report(
        new MisconfigurationError(
          `ecom9-gate: ecom9 refused a debit of product "${base.product}", meter "${base.meter}": ${why}` +
            (why === 'invalid_usage_model' ? ' (the product must use the prepaid_credits usage model)' : ''),
          { cause },
        ),
      );
    }
    return { ...deny('misconfigured', 'upstream', { ...base, detail: 'The billing configuration of this route is invalid.' }), debited: 0, eventKey };
  }
}
