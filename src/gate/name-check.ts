// Typo'd billing names, said once: when a check denies on an answer from ecom9, the names it relies
// on (tiers, subscription, product) are looked up in ecom9's catalogue, and one it does not hold is
// reported to onError (UnknownNameError) the first time, naming the check and the route. A name is
// looked up at most once while the catalogue answers, so a steady stream of denials costs nothing.
import { UnknownNameError, type UnknownNameKind } from '../shared/errors';
import { nearestName } from '../shared/nearest-name';
import type { CatalogCache, KnownNames } from './catalog';

/** One name a check relies on, and the check as a user would recognise it. */
export interface NamedCheck {
  readonly check: string;
  readonly names: ReadonlyArray<{ kind: UnknownNameKind; label: string }>;
}

export class NameCheck {
  /** Names looked up already (found or reported), as `kind\0label`. */
  private readonly settled = new Set<string>();
  /** Checks whose lookup is under way, so concurrent denials start one. */
  private readonly running = new Set<NamedCheck>();

  constructor(
    private readonly catalog: CatalogCache,
    private readonly report: (err: unknown) => void,
  ) {}

  /** Called on a denial that came from ecom9; returns at once (the lookup runs in the background). */
  denied(named: NamedCheck, route?: string): void {
    if (this.running.has(named) || named.names.every((n) => this.settled.has(`${n.kind}\u0000${n.label}`))) return;
    this.running.add(named);
    this.catalog
      .names()
      .then((known) => this.compare(named, known, route))
      // An unreadable catalogue is not a finding: the next denial tries again.
      .catch(() => undefined)
      .finally(() => this.running.delete(named));
  }

  private compare(named: NamedCheck, known: KnownNames, route: string | undefined): void {
    for (const { kind, label } of named.names) {
      const key = `${kind}\u0000${label}`;
      if (this.settled.has(key)) continue;
      this.settled.add(key);
      const pool = kind === 'tier' ? known.tiers : known.products;
      // An empty catalogue (an account with nothing configured, or one ecom9 hides) proves nothing.
      if (pool.size === 0 || pool.has(label)) continue;
      const suggestion = nearestName(label, pool);
      const near = suggestion === undefined ? '' : ` (did you mean "${suggestion}"?)`;
      const where = route ? `${named.check} on ${route}` : named.check;
      this.report(
        new UnknownNameError(`ecom9 knows no ${kind} "${label}"${near}: ${where} denies every account`, { kind, label, suggestion, check: named.check, route }),
      );
    }
  }
}
