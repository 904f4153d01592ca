// meterUsage's shared part: when a response counts, how much, under which event key, recorded
// after the response is finished and never on the request path.
import type { Gate } from '../gate/create-gate';
import { isPromise, resolveAccount, scopedEventKey, type AccountResolver } from './guards';
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
}

/** What meterGuard returns: called once per request, when its response is finished or its client left. */
export type MeterFinished<Req, Res> = (req: Req, res: Res, status: number, aborted: boolean) => void;

/**
 * Records one usage event for a finished response, off the request path. With an Idempotency-Key
 * the event key is scoped like a debit's, so a client's retry of the same request is counted once.
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
  const record = (ref: string, req: Req, quantity: number, metadata: Record<string, unknown> | undefined): void => {
    const idem = read.idempotencyKey(req);
    const eventKey = idem ? scopedEventKey(ref, `meter ${read.route(req)}`, product, meter, idem) : undefined;
    gate.recordMetered(ref, product, meter, quantity, eventKey, metadata);
  };
  return (req: Req, res: Res, status: number, aborted: boolean): void => {
    if (aborted && !opts.meterAborted) return;
    try {
      if (!when(status, req, res)) return;
      const quantity = typeof opts.quantity === 'function' ? opts.quantity(req, res) : (opts.quantity ?? 1);
      if (quantity === 0) return;
      const metadata = opts.metadata?.(req, res);
      const r = read.knownRef(req) ?? resolveAccount(resolver, req, report);
      if (isPromise(r)) void r.then((x) => typeof x === 'string' && record(x, req, quantity, metadata)).catch(report);
      else if (typeof r === 'string') record(r, req, quantity, metadata);
    } catch (err) {
      // After the response, nothing can be answered: a bad quantity or predicate is reported.
      report(err);
    }
  };
}
