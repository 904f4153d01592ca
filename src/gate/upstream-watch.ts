// Upstream trouble said when it starts and when it ends, never per request: ecom9 unreachable (no
// connection, timeouts, 5xx, 429, bodies that are not ecom9's), ecom9 refusing the API key, or 404s
// that are not ecom9's own (baseUrl points elsewhere). Fed by the client's outcome of every call
// (after its retries). A cause ends at the first answer from ecom9 once it has not recurred for
// `quietMs` (the health window): a flapping upstream is one episode, not a line per flap.
import type { Ecom9Error } from '../client';
import type { EndpointName } from '../shared/endpoints';
import { MisconfigurationError, UpstreamUnreachableError } from '../shared/errors';
import { misconfiguration } from '../shared/misconfig';
import type { Logger } from './public-options';

export interface UpstreamWatchDeps {
  logger: Logger;
  /** The user's onError, when given (else the logger line is the report). */
  onError: ((err: unknown) => void) | undefined;
  now: () => number;
  /** ecom9's API root as configured, without credentials or query, for the 404 hint. */
  baseUrl: string;
  /** How long a cause must not recur before an answer from ecom9 ends it (health.windowMs). */
  quietMs: number;
}

interface Trouble {
  readonly since: number;
  lastFailedAt: number;
  failed: number;
}

/** Outcomes that say nothing about ecom9: the app closed the client, or the caller aborted. */
const NOT_TROUBLE = new Set(['client_unusable', 'aborted']);

export class UpstreamWatch {
  private readonly active = new Map<string, Trouble>();

  constructor(private readonly d: UpstreamWatchDeps) {}

  readonly outcome = (endpoint: EndpointName, error: unknown): void => {
    const cause = error === undefined ? undefined : this.cause(endpoint, error as Ecom9Error);
    if (cause === undefined) {
      const e = error as Ecom9Error | undefined;
      // Anything ecom9 itself answered ends every cause; a call refused before sending says nothing.
      if (this.active.size > 0 && (e === undefined || (e.status !== undefined && !NOT_TROUBLE.has(e.code)))) this.ended();
      return;
    }
    const t = this.d.now();
    const known = this.active.get(cause.key);
    if (known) {
      known.failed++;
      known.lastFailedAt = t;
      return;
    }
    this.active.set(cause.key, { since: t, lastFailedAt: t, failed: 1 });
    this.warn(`${cause.message}. Said again when ecom9 answers.`);
    try {
      this.d.onError?.(cause.report);
    } catch {
      // A throwing onError must not take the call down with it.
    }
  };

  private cause(endpoint: EndpointName, e: Ecom9Error): { key: string; message: string; report: Error } | undefined {
    if (NOT_TROUBLE.has(e.code)) return undefined;
    const why = misconfiguration(e);
    if (why !== undefined) {
      const hint = e.code === 'not_found' ? ` (baseUrl is ${this.d.baseUrl}; ecom9's is https://app.ecom9.com/api/)` : '';
      return { key: why, message: `ecom9-gate: ${why}${hint}: checks answer 500 misconfigured`, report: new MisconfigurationError(why + hint, { cause: e }) };
    }
    // ecom9's own 4xx answers (an unknown account, a bad parameter) are ecom9 up and answering.
    if (e.code === 'not_found' || (e.status !== undefined && e.status >= 400 && e.status < 500 && e.status !== 429)) return undefined;
    const what = `ecom9 is unreachable (${e.code}${e.status === undefined ? '' : ` ${e.status}`} on ${endpoint})`;
    return {
      key: 'unreachable',
      message: `ecom9-gate: ${what}: checks answer from facts young enough to serve, else by failMode`,
      report: new UpstreamUnreachableError(what, { cause: e }),
    };
  }

  private ended(): void {
    const t = this.d.now();
    for (const [key, trouble] of this.active) {
      if (t - trouble.lastFailedAt < this.d.quietMs) continue;
      this.active.delete(key);
      const what = key === 'unreachable' ? 'ecom9 is reachable again' : `ecom9 answers again (was: ${key})`;
      const lasted = ((trouble.lastFailedAt - trouble.since) / 1000).toFixed(1);
      this.warn(`ecom9-gate: ${what}: the trouble lasted ${lasted} s, ${trouble.failed} call(s) failed`);
    }
  }

  private warn(message: string): void {
    try {
      this.d.logger.warn(message);
    } catch {
      // A throwing logger must not take the call down with it.
    }
  }
}

/** A URL as safe to print: no user, password, query or fragment. */
export function printableUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return '(unparsable)';
  }
}
