// One model call's charge: what it has used so far (kept in the hold, so the journal has it if the
// process dies), and the one settlement at its end, whichever way it ends.
import type { Hold } from '../gate/hold';
import { promptChars, usageFor, type AiUsage } from './usage';

/** How a model call ended, as its charge saw it. */
export type AiCallOutcome = 'finished' | 'aborted' | 'failed';

/** What `onSettled` receives once a call's charge is final. */
export interface AiSettlement {
  accountRefId: string;
  /** The hold's key: the settling debit's event_key derives from it. */
  holdKey: string;
  /** Credits debited (0: the hold was released, or the debit could not be made: see `error`). */
  charged: number;
  /** The debit's event_key in ecom9's ledger, when there was a debit. */
  eventKey?: string;
  reserved: number;
  usage: AiUsage;
  outcome: AiCallOutcome;
  /** Set when the settlement could not reach ecom9 (the hold's journal keeps it for a later try). */
  error?: unknown;
}

export type PriceFn = (usage: AiUsage) => number;

export interface ChargeDeps {
  price: PriceFn;
  report: (err: unknown) => void;
  onSettled: ((s: AiSettlement) => void) | undefined;
}

export class CallCharge {
  private delivered = 0;
  private providerUsage: unknown;
  private ended: Promise<void> | undefined;
  private priceFailed = false;
  private readonly promptChars: number;

  constructor(
    private readonly hold: Hold,
    private readonly accountRefId: string,
    prompt: unknown,
    private readonly deps: ChargeDeps,
  ) {
    this.promptChars = promptChars(prompt);
  }

  get isEnded(): boolean {
    return this.ended !== undefined;
  }

  /** Output text reached the caller: what it costs so far goes into the hold (its journal). */
  deliver(chars: number): void {
    if (chars <= 0 || this.ended) return;
    this.delivered += chars;
    const owed = this.credits(usageFor(undefined, this.promptChars, this.delivered));
    if (owed > this.hold.used) this.hold.use(owed - this.hold.used);
  }

  /** The provider's own usage (a stream's `finish`, a generate result): it wins over counted text. */
  reported(usage: unknown): void {
    this.providerUsage = usage;
  }

  /**
   * Settles once, however often it is called: the usage priced (capped at the reserve, at least 1
   * credit once anything was delivered), or the hold released when nothing was delivered and the
   * provider reported nothing.
   */
  end(outcome: AiCallOutcome): Promise<void> {
    this.ended ??= this.settle(outcome);
    return this.ended;
  }

  private async settle(outcome: AiCallOutcome): Promise<void> {
    const usage = usageFor(this.providerUsage, this.promptChars, this.delivered);
    const nothing = this.delivered === 0 && this.providerUsage === undefined;
    const owed = nothing ? 0 : this.credits(usage);
    let charged = 0;
    let error: unknown;
    let eventKey: string | undefined;
    try {
      if (owed > 0) {
        // ecom9 may still refuse the debit (the balance fell under the hold): then 0 was charged, and the gate reports it.
        const r = await this.hold.settle(owed);
        charged = r.debited;
        eventKey = r.eventKey;
      } else await this.hold.release();
    } catch (err) {
      error = err;
      this.deps.report(err);
    }
    const s: AiSettlement = { accountRefId: this.accountRefId, holdKey: this.hold.key, charged, reserved: this.hold.reserved, usage, outcome };
    if (eventKey !== undefined) s.eventKey = eventKey;
    if (error !== undefined) s.error = error;
    try {
      this.deps.onSettled?.(s);
    } catch (err) {
      this.deps.report(err);
    }
  }

  /** price(usage) as whole credits within [1, reserve] once output was delivered; a price that throws or is not a number charges the reserve. */
  private credits(usage: AiUsage): number {
    let n: number;
    try {
      n = this.deps.price(usage);
    } catch (err) {
      if (!this.priceFailed) this.deps.report(err);
      this.priceFailed = true;
      return this.hold.reserved;
    }
    if (typeof n !== 'number' || !Number.isFinite(n) || n < 0) return this.hold.reserved;
    const used = this.delivered > 0 || usage.outputTokens > 0;
    return Math.min(this.hold.reserved, Math.max(used ? 1 : 0, Math.ceil(n)));
  }
}
