// meterUsage's shared part: when a response counts, how much, under which event key. The event is
// journaled (with `usage.spoolPath`) as the response is about to complete, before its last bytes can
// reach the client (Finished.sending), and counted once the response is over: a crash after the
// client got its response loses nothing. Never on the request path otherwise.
import type { Gate } from '../gate/create-gate';
import type { PendingMeter } from '../usage/recorder';
import type { Finished } from './binding';
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
  /** The fingerprint of a request with an Idempotency-Key (method, target, body), taken before the route ran. */
  fingerprint?(req: Req): string | undefined;
}

/**
 * What meterGuard returns: called once per request, when its response is finished or its client left.
 * It returns a promise only when the event is recorded later (an async resolver): it settles once it
 * is, so a Worker's waitUntil can hold until then.
 */
export type MeterFinished<Req, Res> = Finished<Req, Res> & ((...args: Parameters<Finished<Req, Res>>) => Promise<void> | undefined);

/** `sending` decided the response does not count: nothing to do when it is over. */
const SKIP = Symbol('not metered');

/**
 * meterUsage's response hook: journals the event as the response is about to complete (`sending`)
 * and counts it when the response is over (or cancels it when the client left first, unless
 * `meterAborted`). Run from a hook after the response (Fastify's onResponse), it records at once.
 * With an Idempotency-Key, the event key is scoped like a debit's and holds the request's
 * fingerprint: a retry of the same request is counted once, another request under the same key on
 * its own.
 */
export function meterGuard<Req, Res>(
  gate: Gate,
  resolver: AccountResolver<Req>,
  report: (err: unknown) => void,
  opts: MeterOptions<Req, Res>,
  read: MeterReaders<Req>,
): MeterFinished<Req, Res> {
  if (!isCode(opts.product) || !isCode(opts.meter)) throw new OptionsError('ecom9-gate: meterUsage needs "product" and "meter"');
  if (typeof opts.quantity === 'number' && !isQuantity(opts.quantity)) {
    throw new OptionsError('ecom9-gate: meterUsage "quantity" must be a positive integer or a function');
  }
  const { product, meter } = opts;
  const when = opts.when ?? successful;
  const eventKeyOf = (ref: string, req: Req): string | undefined => {
    const idem = read.idempotencyKey(req);
    if (!idem) return undefined;
    const fp = read.fingerprint?.(req) ?? '';
    return scopedEventKey(ref, `meter ${read.route(req)}`, product, meter, fp ? `${idem}\u0000${fp}` : idem);
  };
  const begin = (ref: unknown, req: Req, quantity: number, metadata: Record<string, unknown> | undefined): PendingMeter | undefined =>
    typeof ref === 'string' ? gate.beginMetered(ref, product, meter, quantity, eventKeyOf(ref, req), metadata) : undefined;
  const record = (ref: unknown, req: Req, quantity: number, metadata: Record<string, unknown> | undefined): void =>
    void (typeof ref === 'string' && gate.recordMetered(ref, product, meter, quantity, eventKeyOf(ref, req), metadata));
  /** Whether the response counts: its quantity and metadata, or undefined. User functions throwing are reported. */
  const measure = (req: Req, res: Res, status: number): [number, Record<string, unknown> | undefined] | undefined => {
    if (!when(status, req, res)) return undefined;
    const quantity = typeof opts.quantity === 'function' ? opts.quantity(req, res) : (opts.quantity ?? 1);
    return quantity === 0 ? undefined : [quantity, opts.metadata?.(req, res)];
  };
  /** The response's event, journaled now (before its last bytes); undefined when it does not count. */
  const prepare = (req: Req, res: Res, status: number): MaybePromise<PendingMeter | undefined> => {
    try {
      const m = measure(req, res, status);
      if (m === undefined) return undefined;
      const r = read.knownRef(req) ?? resolveAccount(resolver, req, report);
      if (!isPromise(r)) return begin(r, req, m[0], m[1]);
      return r.then(
        (x) => begin(x, req, m[0], m[1]),
        (err: unknown) => void report(err),
      );
    } catch (err) {
      // After the response nothing can be answered: a bad quantity or predicate is reported.
      report(err);
      return undefined;
    }
  };
  /** The response is over and nothing was journaled for it: recorded now, if it counts. */
  // Every metered request without a journal lands here: no allocation beyond what it records.
  const recordNow = (req: Req, res: Res, status: number): Promise<void> | undefined => {
    try {
      if (!when(status, req, res)) return;
      const quantity = typeof opts.quantity === 'function' ? opts.quantity(req, res) : (opts.quantity ?? 1);
      if (quantity === 0) return;
      const metadata = opts.metadata?.(req, res);
      const r = read.knownRef(req) ?? resolveAccount(resolver, req, report);
      if (isPromise(r)) return r.then((x) => record(x, req, quantity, metadata)).catch(report);
      record(r, req, quantity, metadata);
    } catch (err) {
      report(err);
    }
    return undefined;
  };
  const settle = (p: MaybePromise<PendingMeter | undefined> | typeof SKIP, counts: boolean): Promise<void> | undefined => {
    if (p === SKIP || p === undefined) return undefined;
    if (isPromise(p)) return p.then((x) => void settle(x, counts)).catch(report);
    if (counts) p.commit();
    else p.cancel();
    return undefined;
  };
  const finished = ((req: Req, res: Res, status: number, aborted: boolean, sent?: unknown): Promise<void> | undefined => {
    if (sent !== undefined) return settle(sent as PendingMeter | typeof SKIP, !aborted || opts.meterAborted === true);
    if (!aborted || opts.meterAborted === true) return recordNow(req, res, status);
    return undefined;
  }) as MeterFinished<Req, Res> & { sending: Finished<Req, Res>['sending'] };
  // Without a journal there is nothing to write before the last bytes: the response is not taken
  // over, and the event is recorded when it is over (the warm path of a metered route unchanged).
  if (!gate.usageJournaled) return finished;
  (finished as { sending: unknown }).sending = (req: Req, res: Res, status: number) => {
    const p = prepare(req, res, status);
    if (isPromise(p)) return p.then((x) => x ?? SKIP);
    return p ?? SKIP;
  };
  return finished;
}
