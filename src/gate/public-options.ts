// The interfaces createGate's options take (a logger, an invalidation bus); the options themselves and
// their defaults are in options.ts.
import type { DecisionCode } from './decision';
import type { StatsRecorder } from '../shared/stats';
import type { ReplayGuard } from '../webhooks/replay';

export interface Logger {
  warn(message: string): void;
  error?(message: string): void;
}

/** What a bus hands the gate when it subscribes. */
export interface BusSubscriber {
  /** Drops the account's entries in this instance only (never re-published). */
  invalidate(accountRefId: string): void;
  /** Drops everything: after a reconnect, entries cached while the bus was down may have missed an invalidation. */
  clear(): void;
  report(err: unknown): void;
  stats: Pick<StatsRecorder, 'inc'>;
}

/** Carries invalidations between instances (see `ecom9-gate/redis`). */
export interface InvalidationBus {
  publish(accountRefId: string): Promise<void> | void;
  subscribe(subscriber: BusSubscriber): void;
  /** A replay guard shared by every instance, for webhook transaction ids. */
  readonly replayGuard?: ReplayGuard;
  close?(): Promise<void> | void;
}

export type { DecisionCode };
