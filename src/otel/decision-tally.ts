// Counts decisions by (code, source, allowed) in plain fields, for an asynchronous counter: the SDK's
// synchronous counter hashes its attributes on every add, which costs more than the warm check it
// would measure. Warm hits return the same frozen Decision objects again and again, so a decision
// is first looked up by identity (the last one, then a WeakMap), and only then by its fields.
import type { Attributes } from '@opentelemetry/api';
import type { Decision } from '../gate/decision';

interface Cell {
  allowed: number;
  denied: number;
  readonly allowedAttributes: Attributes;
  readonly deniedAttributes: Attributes;
}

export class DecisionTally {
  private readonly byCode = new Map<string, Map<string, Cell>>();
  private readonly byDecision = new WeakMap<Decision, Cell>();
  private last: Decision | undefined;
  private lastCell: Cell | undefined;

  constructor(private readonly extra: Attributes) {}

  add(d: Decision): void {
    const cell = d === this.last ? (this.lastCell as Cell) : this.find(d);
    if (d.allowed) cell.allowed++;
    else cell.denied++;
  }

  private find(d: Decision): Cell {
    let cell = this.byDecision.get(d);
    if (cell === undefined) {
      cell = this.byCode.get(d.code)?.get(d.source) ?? this.open(d.code, d.source);
      // Only frozen decisions are shared (and cannot change their code); the others are made per call.
      if (!Object.isFrozen(d)) return cell;
      this.byDecision.set(d, cell);
    }
    this.last = d;
    this.lastCell = cell;
    return cell;
  }

  /** Every combination seen so far, with its running total. */
  report(observe: (value: number, attributes: Attributes) => void): void {
    for (const bySource of this.byCode.values()) {
      for (const cell of bySource.values()) {
        if (cell.allowed > 0) observe(cell.allowed, cell.allowedAttributes);
        if (cell.denied > 0) observe(cell.denied, cell.deniedAttributes);
      }
    }
  }

  private open(code: string, source: string): Cell {
    let bySource = this.byCode.get(code);
    if (!bySource) this.byCode.set(code, (bySource = new Map()));
    const base = { ...this.extra, 'ecom9.decision.code': code, 'ecom9.decision.source': source };
    const cell: Cell = {
      allowed: 0,
      denied: 0,
      allowedAttributes: { ...base, 'ecom9.decision.allowed': true },
      deniedAttributes: { ...base, 'ecom9.decision.allowed': false },
    };
    bySource.set(source, cell);
    return cell;
  }
}
