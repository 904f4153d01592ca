// reserveCredits' guard, shared by every adapter: resolves the account, reserves the route's most it
// may cost under a key scoped like chargeCredits' (so a retried Idempotency-Key is one hold, charged
// once), and leaves the hold in the request state; the builder settles it when the response is done.
import type { FailMode } from '../gate/access';
import type { Gate } from '../gate/create-gate';
import { deny, type Decision } from '../gate/decision';
import type { Hold } from '../gate/hold';
import { OptionsError } from '../shared/errors';
import { isCode, isQuantity } from '../shared/rules';
import { resolveAccount, scopedEventKey, type AccountResolver, type ChargeRequest, type Ecom9State } from './guards';

export interface ReserveRouteOptions<Req> {
  product: string;
  meter: string;
  /** The most one request may cost: a positive integer, or a function of the request (sync or async). */
  quantity: number | ((req: Req) => number | Promise<number>);
  /** The hold's key; by default from the Idempotency-Key header (scoped to account, route, product and meter), else a fresh UUID. */
  key?: (req: Req) => string | undefined;
  /** A top-up URL for the 402, or a function of the request. */
  topUpUrl?: string | ((req: Req) => string | undefined);
  /** When ecom9 (the balance) or the fleet's Redis cannot be reached. @default 'closed' */
  failMode?: FailMode;
}

/** A hold-before-handler guard: the state carries the hold when granted. */
export function reserveGuard<Req>(gate: Gate, resolver: AccountResolver<Req>, report: (err: unknown) => void, opts: ReserveRouteOptions<Req>) {
  if (typeof opts.quantity !== 'function' && !isQuantity(opts.quantity)) {
    throw new OptionsError('ecom9-gate: reserveCredits "quantity" must be a positive integer or a function');
  }
  if (!isCode(opts.product) || !isCode(opts.meter)) throw new OptionsError('ecom9-gate: reserveCredits needs "product" and "meter"');
  const badQuantity = Object.freeze(
    deny('invalid_quantity', 'cache', { product: opts.product, meter: opts.meter, detail: 'The most this request may cost is not a whole number of credits.' }),
  );
  return async (req: Req, meta: ChargeRequest): Promise<Ecom9State & { hold?: Hold }> => {
    const ref = await resolveAccount(resolver, req, report);
    if (typeof ref !== 'string') return { accountRefId: undefined, decision: ref };
    const quantity = typeof opts.quantity === 'function' ? await opts.quantity(req) : opts.quantity;
    if (!isQuantity(quantity)) return { accountRefId: ref, decision: badQuantity };
    const key =
      opts.key?.(req) ??
      (meta.idempotencyKey ? scopedEventKey(ref, `${meta.route} hold x${quantity}`, opts.product, opts.meter, meta.idempotencyKey) : undefined);
    const topUpUrl = typeof opts.topUpUrl === 'function' ? opts.topUpUrl(req) : opts.topUpUrl;
    const { decision, hold } = await gate.reserveCredits(ref, {
      product: opts.product,
      meter: opts.meter,
      quantity,
      ...(key ? { key } : {}),
      ...(opts.failMode ? { failMode: opts.failMode } : {}),
      ...(topUpUrl ? { topUpUrl } : {}),
    });
    const d: Decision = decision;
    return hold ? { accountRefId: ref, decision: d, hold } : { accountRefId: ref, decision: d };
  };
}
