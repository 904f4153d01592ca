// meterUsage's shared part: when a response counts, how much, under which event key. The event is
// journaled (with `usage.spoolPath`) before the response's last bytes can reach its client, and
// counted once the response is over: a crash after the client got its response loses nothing.
import { createHash } from 'node:crypto';
import type { Gate } from '../gate/create-gate';
import { fingerprintInput, type FingerprintBody } from '../idempotency/fingerprint';
import type { PendingMeter } from '../usage/recorder';
import { isPromise, resolveAccount, scopedEventKey, type AccountResolver, type MaybePromise } from './guards';
import { OptionsError } from '../shared/errors';
import { isCode, isQuantity } from '../shared/rules';

export interface MeterOptions<Req, Res> {
  product: string;
  meter: string;
  /** Units per request, or a function of the finished request and response. @default 1 */
  quantity?: number | ((req: Req, res: Res) => number);
  /** Which finished responses count. @default status < 400 */
  when?: (status: number, req: Req, res: Res) => boolean;
  /** Meter requests whose client went away before the response was finished. @default false */
  meterAborted?: boolean;
  metadata?: (req: Req, res: Res) => Record<string, unknown> | undefined;
}

const successful = (status: number): boolean => status < 400;

/** What meterUsage reads of a response: Node's ServerResponse, or the web adapters' stand-in for a finished Response. */
export interface MeteredResponse {
  readonly statusCode: number;
  readonly writableFinished: boolean;
  on(event: 'close', listener: () => void): unknown;
  /** Node's `end`: taken over, so the event is journaled before the response's last bytes are written. */
  end?: unknown;
}

/**
 * What an adapter reads from a finished request for metering, one reader each, made once: a request
 * pays only for what it uses (the route is read only when an Idempotency-Key needs scoping).
 */
export interface MeterReaders<Req> {
  /** The account ref an earlier ecom9 middleware on the route already resolved. */
  knownRef(req: Req): string | undefined;
  idempotencyKey(req: Req): string | undefined;
  /** Method and route pattern (not the raw URL), as for a debit. */
  route(req: Req): string;
  /** The path (parameters filled in) and query as sent, for the fingerprint of a keyed request. */
  target?(req: Req): string;
  /** The body as the framework holds it, for the fingerprint of a keyed request. */
  body?(req: Req): FingerprintBody;
}

/** meterUsage's two steps: `prepare` as the response is about to be sent, then its pending event's `commit` or `cancel` once it is over. */
export interface MeterSteps<Req, Res> {
  /** The event this response counts for, journaled now; undefined when it does not count. */
  prepare(req: Req, res: Res, status: number): MaybePromise<PendingMeter | undefined>;
  /** Whether a response whose client left before its end still counts. */
  readonly meterAborted: boolean;
  report(err: unknown): void;
}

export function meterSteps<Req, Res>(
  gate: Gate,
  resolver: AccountResolver<Req>,
  report: (err: unknown) => void,
  opts: MeterOptions<Req, Res>,
  read: MeterReaders<Req>,
): MeterSteps<Req, Res> {
  if (!isCode(opts.product) || !isCode(opts.meter)) throw new OptionsError('ecom9-gate: meterUsage needs "product" and "meter"');
  if (typeof opts.quantity === 'number' && !isQuantity(opts.quantity)) {
    throw new OptionsError('ecom9-gate: meterUsage "quantity" must be a positive integer or a function');
  }
  const { product, meter } = opts;
  const when = opts.when ?? successful;
  /**
   * With an Idempotency-Key, the event key is scoped like a debit's and holds the request's
   * fingerprint: a retry of the same request is counted once, another request under the same key
   * is counted on its own.
   */
  const eventKeyOf = (ref: string, req: Req): string | undefined => {
    const idem = read.idempotencyKey(req);
    if (!idem) return undefined;
    const route = read.route(req);
    const fp = createHash('sha256')
      .update(fingerprintInput(route.split(' ', 1)[0] ?? '', read.target?.(req) ?? route, read.body?.(req)))
      .digest('base64url');
    return scopedEventKey(ref, `meter ${route}`, product, meter, `${idem}\u0000${fp}`);
  };
  return {
    meterAborted: opts.meterAborted === true,
    report,
    prepare(req, res, status) {
      if (!when(status, req, res)) return undefined;
      const quantity = typeof opts.quantity === 'function' ? opts.quantity(req, res) : (opts.quantity ?? 1);
      if (quantity === 0) return undefined;
      const metadata = opts.metadata?.(req, res);
      const begin = (r: unknown): PendingMeter | undefined =>
        typeof r === 'string' ? gate.beginMetered(r, product, meter, quantity, eventKeyOf(r, req), metadata) : undefined;
      const r = read.knownRef(req) ?? resolveAccount(resolver, req, report);
      return isPromise(r) ? r.then(begin) : begin(r);
    },
  };
}

/**
 * Records one usage event for a finished Node response (or the web adapters' stand-in), off the
 * request path, journaled before its last bytes are written.
 */
export function meterGuard<Req, Res>(
  gate: Gate,
  resolver: AccountResolver<Req>,
  report: (err: unknown) => void,
  opts: MeterOptions<Req, Res>,
  read: MeterReaders<Req>,
) {
  const steps = meterSteps(gate, resolver, report, opts, read);
  const prepare = (req: Req, res: Res, status: number): MaybePromise<PendingMeter | undefined> => {
    try {
      return steps.prepare(req, res, status);
    } catch (err) {
      // Nothing can be answered for it: a bad quantity or predicate is reported.
      report(err);
      return undefined;
    }
  };
  const settle = (p: MaybePromise<PendingMeter | undefined>, count: boolean): void => {
    if (isPromise(p)) void p.then((x) => settle(x, count)).catch(report);
    else if (p) count ? p.commit() : p.cancel();
  };
  // Run from a hook after the response (Fastify's onResponse) it records at once; run before it (any
  // middleware), it takes over `end` and waits for the response to close. A response always emits
  // 'close' last, once (after 'finish' when it was finished), so one plain listener does.
  return (req: Req, res: Res, raw: MeteredResponse): void => {
    if (raw.writableFinished) return settle(prepare(req, res, raw.statusCode), true);
    let pending: MaybePromise<PendingMeter | undefined> | undefined;
    let prepared = false;
    const node = raw as MeteredResponse & { end?: (...args: unknown[]) => unknown };
    const end = node.end;
    if (typeof end === 'function') {
      node.end = function meteredEnd(this: unknown, ...args: unknown[]) {
        if (prepared) return end.apply(this, args);
        prepared = true;
        pending = prepare(req, res, raw.statusCode);
        // An account resolved only now (an async resolver): the response waits for its journal line.
        if (!isPromise(pending)) return end.apply(this, args);
        const self = this;
        void pending.then(
          () => end.apply(self, args),
          () => end.apply(self, args),
        );
        return raw;
      };
    }
    raw.on('close', () => {
      const aborted = !raw.writableFinished;
      const counts = !aborted || steps.meterAborted;
      if (prepared) return settle(pending, counts);
      if (counts) settle(prepare(req, res, raw.statusCode), true);
    });
  };
}
