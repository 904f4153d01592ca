// gate.health(): what a readiness probe needs, from what the gate already sees (no call to ecom9 is
// made to answer it): how its last calls to ecom9 ended, whether it had to answer without facts,
// whether usage is piling up in the spool, and the state of the bus and the shared store.
import type { Ecom9Error } from '../client';
import type { CounterName } from '../shared/stats';

/** A part the gate depends on: `none` when it has none, `unknown` before it was first used. */
export type ComponentState = 'none' | 'unknown' | 'ok' | 'failing';

export interface GateHealth {
  /**
   * False when the gate cannot do its job right now: ecom9 failed within `health.windowMs` (and has
   * not answered since) while the gate had nothing cached to serve (its cache is empty, or a check
   * found no fact young enough and fell back to failMode); or usage is being written to the spool
   * because delivery fails (an event was given up on within the window, none delivered since).
   * A failing bus or store does not make it false: the gate still decides, from its own cache.
   */
  ok: boolean;
  /** ecom9: `failing` when its last call (after retries) failed within the window; `unknown` before any call ended. */
  upstream: Exclude<ComponentState, 'none'>;
  /** The invalidation bus: `none` without one; `failing` after a publish or subscription error within the window. */
  bus: ComponentState;
  /** The shared fact store: `none` without one; else what the store reports. */
  store: ComponentState;
  usage: {
    /** Usage events recorded and not yet delivered or given up on. */
    pending: number;
    /** Events given up on by this process and kept in the spool, to be sent again on the next start. */
    spooled: number;
  };
}

/** Something that can say how it is doing (a bus or a store may offer it). */
export interface HealthReporter {
  health?(): ComponentState;
}

export interface HealthDeps {
  now: () => number;
  windowMs: number;
  bus: HealthReporter | undefined;
  store: HealthReporter | undefined;
  cacheSize: () => number;
  usagePending: () => number;
}

// Keeps only times and flags, set from the client's call outcomes and the gate's counters (never on
// a warm hit). Flags, not time order, say what came last: a test clock may not move between events.
export class HealthTracker {
  private seenUpstream = false;
  /** The last call to ecom9 failed (when), or undefined when it succeeded. */
  private upstreamFailedAt: number | undefined;
  /** A check fell back to failMode since ecom9 last answered (when). */
  private unservedAt: number | undefined;
  private busFailedAt: number | undefined;
  /** An event went to the spool since usage was last delivered (when). */
  private spooledAt: number | undefined;
  private spooledEvents = 0;

  constructor(private readonly d: HealthDeps) {}

  /**
   * The client's report of how a call ended. A closed client is the app's doing, not ecom9's; a 400
   * or 404 is ecom9 answering (an unknown account is a "no"), so it counts as ecom9 being up.
   */
  readonly upstream = (_endpoint: string, error: unknown): void => {
    const e = error as Ecom9Error | undefined;
    if (e?.code === 'client_unusable') return;
    this.seenUpstream = true;
    const answered = e?.status !== undefined && e.status >= 400 && e.status < 500 && e.status !== 401 && e.status !== 403 && e.status !== 429;
    if (error === undefined || answered) {
      this.upstreamFailedAt = undefined;
      this.unservedAt = undefined;
    } else {
      this.upstreamFailedAt = this.d.now();
      // A refused key is a misconfiguration: every cold check answers 500 and nothing stale is served,
      // whatever the cache holds for other accounts.
      if (e?.status === 401 || e?.status === 403) this.unservedAt = this.upstreamFailedAt;
    }
  };

  readonly counted = (name: CounterName): void => {
    if (name === 'failOpenAllowed' || name === 'failClosedDenied') this.unservedAt = this.d.now();
    else if (name === 'busErrors') this.busFailedAt = this.d.now();
    else if (name === 'usageSent') this.spooledAt = undefined;
  };

  readonly spooled = (count: number): void => {
    this.spooledEvents += count;
    this.spooledAt = this.d.now();
  };

  snapshot(): GateHealth {
    const now = this.d.now();
    const recent = (t: number | undefined): boolean => t !== undefined && now - t <= this.d.windowMs;
    const upstream: GateHealth['upstream'] = !this.seenUpstream ? 'unknown' : recent(this.upstreamFailedAt) ? 'failing' : 'ok';
    const bus = this.d.bus === undefined ? 'none' : (this.d.bus.health?.() ?? (recent(this.busFailedAt) ? 'failing' : 'ok'));
    const store = this.d.store === undefined ? 'none' : (this.d.store.health?.() ?? 'unknown');
    const nothingToServe = recent(this.unservedAt) || this.d.cacheSize() === 0;
    return {
      ok: !(upstream === 'failing' && nothingToServe) && !recent(this.spooledAt),
      upstream,
      bus,
      store,
      usage: { pending: this.d.usagePending(), spooled: this.spooledEvents },
    };
  }
}
