// The hold journal: what each open hold has used, at `<usage.spoolPath>.holds`, so a process killed
// mid-work charges it on its next start. It is the usage spool's own format and code (src/usage/spool.ts):
// a hold's use is an event under the hold's event_key, written again on every use (the journal keeps
// the last line per key) and marked done once its debit is answered or nothing is left to charge.
import { Spool, type SpooledEvent } from './spool';

const COMPACT_AFTER_LINES = 50_000;

export interface JournaledHold {
  accountRefId: string;
  product: string;
  meter: string;
  /** What the hold has used (or the amount settle() was given): what the next start charges. */
  quantity: number;
  eventKey: string;
  /** The hold's own key (sent as the debit's metadata). */
  key: string;
}

export class HoldJournal {
  private readonly spool: Spool;
  /** Holds that were open when the last process stopped: to be charged now. */
  readonly pending: JournaledHold[];
  /** Lines that could not be read (a torn last line after a crash is expected). */
  readonly skipped: number;
  private linesSinceCompact = 0;

  constructor(readonly path: string) {
    const { spool, pending, skipped } = Spool.open(path);
    this.spool = spool;
    this.pending = pending.map((p) => toHold(p.event));
    this.skipped = skipped;
  }

  /** Synchronous: once use() returns, the use survives a crash. */
  used(h: JournaledHold): void {
    this.spool.add({ accountRefId: h.accountRefId, product: h.product, meter: h.meter, quantity: h.quantity, eventKey: h.eventKey, metadata: { hold: h.key } });
    // A hold writes a line per use, which the spool's own compaction (counted in done-marks) does not see.
    if (++this.linesSinceCompact >= COMPACT_AFTER_LINES) {
      this.spool.compact();
      this.linesSinceCompact = 0;
    }
  }

  done(eventKey: string): void {
    this.spool.done(eventKey);
  }

  close(): void {
    this.spool.close();
  }
}

function toHold(e: SpooledEvent): JournaledHold {
  const key = e.metadata?.hold;
  return {
    accountRefId: e.accountRefId,
    product: e.product,
    meter: e.meter,
    quantity: e.quantity,
    eventKey: e.eventKey,
    key: typeof key === 'string' ? key : e.eventKey,
  };
}
