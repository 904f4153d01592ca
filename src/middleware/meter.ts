// meterUsage's shared part: when a response counts, how much, under which event key, recorded
// after the response is finished and never on the request path.
import type { ServerResponse } from 'node:http';
import type { Gate } from '../gate/create-gate';
import { isPromise, resolveAccount, scopedEventKey, type AccountResolver, type ChargeRequest } from './guards';

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

/** What an adapter reads from a finished request for metering. */
export interface FinishedRequest extends ChargeRequest {
  /** The account ref an earlier ecom9 middleware on the route already resolved. */
  knownRef: string | undefined;
}

/**
 * Calls back once the response is done: `aborted` is false when it was finished, true when the
 * connection closed first. A response always emits 'close' last (after 'finish' when there is one),
 * so one listener per request does.
 */
export function whenFinished(res: ServerResponse, cb: (aborted: boolean) => void): void {
  res.once('close', () => cb(!res.writableFinished));
}

/**
 * Records one usage event for a finished response, off the request path. With an Idempotency-Key
 * the event key is scoped like a debit's, so a client's retry of the same request is counted once.
 * `describe` reads the adapter's request once it is finished.
 */
export function meterGuard<Req, Res>(
  gate: Gate,
  resolver: AccountResolver<Req>,
  report: (err: unknown) => void,
  opts: MeterOptions<Req, Res>,
  describe: (req: Req, res: Res) => FinishedRequest,
) {
  if (!opts.product || !opts.meter) throw new TypeError('ecom9-gate: meterUsage needs "product" and "meter"');
  if (typeof opts.quantity === 'number' && (!Number.isSafeInteger(opts.quantity) || opts.quantity <= 0)) {
    throw new TypeError('ecom9-gate: meterUsage "quantity" must be a positive integer or a function');
  }
  const when = opts.when ?? successful;
  const finished = (req: Req, res: Res, raw: ServerResponse, aborted: boolean): void => {
    if (aborted && !opts.meterAborted) return;
    try {
      if (!when(raw.statusCode, req, res)) return;
      const quantity = typeof opts.quantity === 'function' ? opts.quantity(req, res) : (opts.quantity ?? 1);
      if (quantity === 0) return;
      const meta = describe(req, res);
      const metadata = opts.metadata?.(req, res);
      const record = (ref: string): void => {
        const eventKey = meta.idempotencyKey ? scopedEventKey(ref, `meter ${meta.route}`, opts.product, opts.meter, meta.idempotencyKey) : undefined;
        gate.recordMetered(ref, opts.product, opts.meter, quantity, eventKey, metadata);
      };
      if (meta.knownRef) {
        record(meta.knownRef);
        return;
      }
      const r = resolveAccount(resolver, req, report);
      if (isPromise(r)) void r.then((x) => typeof x === 'string' && record(x)).catch(report);
      else if (typeof r === 'string') record(r);
    } catch (err) {
      // After the response, nothing can be answered: a bad quantity or predicate is reported.
      report(err);
    }
  };
  // Run from a hook after the response (Fastify's onResponse) it records at once, with no listener;
  // run before it (any middleware), it waits for the response to close.
  return (req: Req, res: Res, raw: ServerResponse): void => {
    if (raw.writableFinished) finished(req, res, raw, false);
    else whenFinished(raw, (aborted) => finished(req, res, raw, aborted));
  };
}
