// Counts decisions by (code, source, allowed) in plain fields, for an asynchronous counter: the SDK's
// synchronous counter hashes its attributes on every add, which costs more than the warm check it
// would measure; this costs two Map reads and an increment.
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

  constructor(private readonly extra: Attributes) {}

  add(d: Decision): void {
    const cell = this.byCode.get(d.code)?.get(d.source) ?? this.open(d.code, d.source);
    if (d.allowed) cell.allowed++;
    else cell.denied++;
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
