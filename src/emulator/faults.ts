// Fault injection for tests and demos: per endpoint and/or account, for a number of requests or for good.
import type { EndpointName } from '../shared/endpoints';
import { OptionsError } from '../shared/errors';

/** How an injected fault fails a request. */
export type FaultKind = 'latency' | 'status' | 'rate_limit' | 'drop' | 'malformed' | 'bad_schema';
/** Every kind, for the console API's schema. */
export const FAULT_KINDS = ['latency', 'status', 'rate_limit', 'drop', 'malformed', 'bad_schema'] as const satisfies readonly FaultKind[];

/** A fault to inject: which requests, how they fail, how many times. */
export interface FaultSpec {
  /** Default: every endpoint. */
  endpoint?: EndpointName;
  /** Default: any account. */
  accountRefId?: string;
  kind: FaultKind;
  /** 'latency': how long to hold the request before answering. */
  ms?: number;
  /** 'status': the status to answer, with the body the reference documents for it (400 `{field: [..]}`, 404 `{error}`, 204 none, else `{detail}`). @default 503 */
  status?: number;
  /** 'status': answer this JSON body instead (`null` sends `null`), e.g. another reading of an ambiguous response. */
  body?: unknown;
  /** 'rate_limit': the Retry-After seconds. @default 1 */
  retryAfter?: number;
  /** 'drop': apply the request's effect first, then cut the connection mid-response. */
  dropAfterProcessing?: boolean;
  /** How many matching requests it affects. @default unlimited */
  times?: number;
}

interface Active extends FaultSpec {
  left: number;
}

export class Faults {
  private active: Active[] = [];

  add(f: FaultSpec): void {
    if (f.times !== undefined && (!Number.isInteger(f.times) || f.times < 1)) throw new OptionsError('emulator: fault "times" must be a positive integer');
    this.active.push({ ...f, left: f.times ?? Number.POSITIVE_INFINITY });
  }

  /** The active faults, in the order they apply, with how many requests each has left (null: unlimited). */
  list(): Array<FaultSpec & { left: number | null }> {
    return this.active.map(({ left, ...f }) => ({ ...f, left: Number.isFinite(left) ? left : null }));
  }

  clear(): void {
    this.active = [];
  }

  /** The first fault that matches, used up by one. Faults apply in the order they were added. */
  take(endpoint: EndpointName, accountRefId: string | undefined): FaultSpec | undefined {
    const i = this.active.findIndex((f) => (!f.endpoint || f.endpoint === endpoint) && (!f.accountRefId || f.accountRefId === accountRefId));
    if (i < 0) return undefined;
    const f = this.active[i] as Active;
    if (--f.left <= 0) this.active.splice(i, 1);
    return f;
  }
}
