// What every adapter's middlewares share: account resolution, the checks behind each middleware, the credit
// event key, the metering rule and the denial response. An adapter only reads its request, calls a
// guard and writes the guard's answer in its framework's terms.
import { sha256Base64url } from '../shared/hash';
import type { EntitlementCheckOptions, FailMode } from '../gate/access';
import type { Gate } from '../gate/create-gate';
import type { CreditDecision } from '../gate/credits';
import type { Hold } from '../gate/hold';
import { allow, deny, problemHeaders, toProblem, type Decision, type DeniedDecision, type Problem } from '../gate/decision';
import type { TierCheckOptions } from '../gate/tier-rule';
import { CallbackError, OptionsError } from '../shared/errors';
import { isCode, isQuantity } from '../shared/rules';

/** Finds the ecom9 account ref of a request (sync or async). Nothing (or a non-string) means 401; a throw or rejection: AdapterOptions.resolverError. */
export type AccountResolver<Req> = (req: Req) => unknown;

/** What a gated handler can read. */
export interface Ecom9State {
  accountRefId: string | undefined;
  decision: Decision | undefined;
  credits?: { debited: number; remainingBalance: number | undefined; eventKey: string };
  /** After reserveCredits: the hold to `use(n)`; settled for what it used once the response is finished. */
  hold?: Hold;
}

export interface DenialResponse {
  status: number;
  headers: Record<string, string>;
  body: Problem;
}

/** The problem+json answer for a denial. */
export function denialResponse(d: DeniedDecision): DenialResponse {
  return { status: d.status, headers: problemHeaders(d), body: toProblem(d) };
}

/** The checks every adapter makes of what it is given, when it is made (values are never echoed). */
export function checkAdapterOptions(adapter: string, gate: unknown, accountRefId: unknown): void {
  if (typeof (gate as Partial<Gate> | null | undefined)?.tierCheck !== 'function')
    throw new OptionsError(`ecom9-gate: ${adapter} "gate" must be a gate from createGate()`);
  if (typeof accountRefId !== 'function') throw new OptionsError(`ecom9-gate: ${adapter} option "accountRefId" must be a function`);
}

const UNRESOLVED = Object.freeze(deny('account_unresolved', 'cache', { detail: 'The request does not identify an account.' }));
const RESOLVER_FAILED = Object.freeze(deny('account_unresolved', 'cache', { detail: 'The account could not be resolved.' }));

export type MaybePromise<T> = T | Promise<T>;

export function isPromise<T>(v: MaybePromise<T>): v is Promise<T> {
  return typeof (v as { then?: unknown } | null)?.then === 'function';
}

/** A resolved account ref (a string), or the denial that stands in for it. */
export type Resolution = string | Decision;

/**
 * Runs the user's resolver: a throw or a rejection goes to `report` and becomes a 401 (unless
 * `report` rethrows: the adapter's resolverError 'throw'), as does a value that is not a non-empty string.
 */
export function resolveAccount<Req>(resolver: AccountResolver<Req>, req: Req, report: (err: unknown) => void): MaybePromise<Resolution> {
  let out: unknown;
  try {
    out = resolver(req);
  } catch (err) {
    report(err);
    return RESOLVER_FAILED;
  }
  if (isPromise(out)) {
    return out.then(asResolution, (err: unknown) => {
      report(err);
      return RESOLVER_FAILED;
    });
  }
  return asResolution(out);
}

function asResolution(v: unknown): Resolution {
  return typeof v === 'string' && v.length > 0 ? v : UNRESOLVED;
}

/**
 * A check of one account, answering with the handler state: synchronously when the resolver is
 * synchronous and the cache warm, and then with a single allocation (the state itself).
 */
export type Guard<Req> = (req: Req) => MaybePromise<Ecom9State>;

export function makeCheckGuard<Req>(
  check: { peek(ref: string): Decision | undefined; check(ref: string, route?: string): Promise<Decision> },
  resolver: AccountResolver<Req>,
  report: (err: unknown) => void,
  route?: (req: Req) => string,
): Guard<Req> {
  // The route is read only on a cold check: it names where a check is when ecom9 shows one of its names unknown.
  const decide = (r: Resolution, req: Req): MaybePromise<Ecom9State> => {
    if (typeof r !== 'string') return { accountRefId: undefined, decision: r };
    const warm = check.peek(r);
    if (warm !== undefined) return { accountRefId: r, decision: warm };
    return check.check(r, route?.(req)).then((decision) => ({ accountRefId: r, decision }));
  };
  return (req) => {
    const r = resolveAccount(resolver, req, report);
    return isPromise(r) ? r.then((ref) => decide(ref, req)) : decide(r, req);
  };
}

/**
 * Calls a user's onDenied whose `next` is the only way on (Express, Fastify): the request is never
 * continued on its behalf. `next` runs at most once (an error after it is reported, not lost); a
 * throw or a rejection goes to `next(err)`, never to an unhandled rejection. A returned promise, or
 * thenable (Fastify's `reply`, which settles once sent), is awaited for its errors only.
 */
export function callOnDenied(call: (next: (err?: unknown) => void) => unknown, next: (err?: unknown) => void, report: (err: unknown) => void): void {
  let called = false;
  const once = (err?: unknown): void => {
    if (!called) {
      called = true;
      next(err);
    } else if (err !== undefined) report(err);
  };
  // A falsy rejection reason must not read as "go on".
  const fail = (err: unknown) => once(err ?? new CallbackError('ecom9-gate: onDenied failed without a reason'));
  try {
    const out = call(once);
    if (isPromise(out)) Promise.resolve(out).catch(fail);
  } catch (err) {
    fail(err);
  }
}

/** Adds a middleware's state to what earlier ecom9 middlewares on the route left (our own object). */
export function mergeState(prev: Ecom9State | null | undefined, next: Ecom9State): Ecom9State {
  if (!prev) return next;
  // A denial an onDenied let through stays the decision the route reads (docs/denials.md): a later
  // step's allow (the charge after a soft tier check) told a handler serving a degraded answer on it
  // that the caller was entitled.
  const kept = prev.decision !== undefined && !prev.decision.allowed && next.decision?.allowed === true ? prev.decision : undefined;
  Object.assign(prev, next);
  if (kept) prev.decision = kept;
  return prev;
}

export function tierGuard<Req>(
  gate: Gate,
  resolver: AccountResolver<Req>,
  report: (err: unknown) => void,
  tiers: string | readonly string[] | undefined,
  opts: Omit<TierCheckOptions, 'tiers'> = {},
  route?: (req: Req) => string,
): Guard<Req> {
  return makeCheckGuard(gate.tierCheck({ ...opts, ...(tiers === undefined ? {} : { tiers }) }), resolver, report, route);
}

export function entitlementGuard<Req>(
  gate: Gate,
  resolver: AccountResolver<Req>,
  report: (err: unknown) => void,
  opts: EntitlementCheckOptions,
  route?: (req: Req) => string,
): Guard<Req> {
  return makeCheckGuard(gate.entitlementCheck(opts), resolver, report, route);
}

export interface ChargeOptions<Req> {
  product: string;
  meter: string;
  /** Credits per request, or a function of the request. */
  quantity: number | ((req: Req) => number | Promise<number>);
  /** The idempotency key; by default from the Idempotency-Key header (scoped to account, route, product and meter), else a fresh UUID. */
  eventKey?: (req: Req) => string | undefined;
  /** A top-up URL for the 402, or a function of the request. */
  topUpUrl?: string | ((req: Req) => string | undefined);
  metadata?: (req: Req) => Record<string, unknown> | undefined;
  failMode?: FailMode;
}

/** What the adapter reads from its request for a charge. */
export interface ChargeRequest {
  idempotencyKey: string | undefined;
  /** Method and route pattern (not the raw URL), so the same key on another route is another charge. */
  route: string;
  /** The account, when the caller resolved it already (an Idempotency-Key is claimed for it first). */
  accountRefId?: string;
}

/** A debit-before-handler guard. */
export function chargeGuard<Req>(gate: Gate, resolver: AccountResolver<Req>, report: (err: unknown) => void, opts: ChargeOptions<Req>) {
  if (typeof opts.quantity !== 'function' && !isQuantity(opts.quantity)) {
    throw new OptionsError('ecom9-gate: chargeCredits "quantity" must be a positive integer or a function');
  }
  if (!isCode(opts.product) || !isCode(opts.meter)) throw new OptionsError('ecom9-gate: chargeCredits needs "product" and "meter"');
  const nothingToCharge = { product: opts.product, meter: opts.meter, requested: 0, debited: 0 };
  const badQuantity = Object.freeze(
    deny('invalid_quantity', 'cache', { product: opts.product, meter: opts.meter, detail: 'The quantity to charge is not a whole number of credits.' }),
  );
  return async (req: Req, meta: ChargeRequest): Promise<Ecom9State> => {
    const ref = meta.accountRefId ?? (await resolveAccount(resolver, req, report));
    if (typeof ref !== 'string') return { accountRefId: undefined, decision: ref };
    const quantity = typeof opts.quantity === 'function' ? await opts.quantity(req) : opts.quantity;
    // 0 is "nothing to charge"; anything else that is not a positive whole number (NaN from an
    // unparsable parameter, a fraction, a string) is the request's fault, so a 400, not a 500.
    if (quantity === 0) {
      return { accountRefId: ref, decision: allow('cache', nothingToCharge), credits: { debited: 0, remainingBalance: undefined, eventKey: '' } };
    }
    if (!isQuantity(quantity)) return { accountRefId: ref, decision: badQuantity };
    // The quantity is in the scope: a key reused on a dearer request is charged anew, not answered as the cheap one.
    const eventKey =
      opts.eventKey?.(req) ??
      (meta.idempotencyKey ? scopedEventKey(ref, `${meta.route} x${quantity}`, opts.product, opts.meter, meta.idempotencyKey) : undefined);
    const metadata = opts.metadata?.(req);
    const credits = await gate.debitCredits({
      accountRefId: ref,
      product: opts.product,
      meter: opts.meter,
      quantity,
      ...(eventKey ? { eventKey } : {}),
      ...(metadata ? { metadata } : {}),
      ...(opts.failMode ? { failMode: opts.failMode } : {}),
    });
    let decision: Decision = credits;
    if (!credits.allowed && credits.code === 'insufficient_credits' && opts.topUpUrl) {
      const url = typeof opts.topUpUrl === 'function' ? opts.topUpUrl(req) : opts.topUpUrl;
      if (url) decision = { ...credits, topUpUrl: url };
    }
    return ecom9State(ref, decision, credits);
  };
}

/**
 * The event key for a client Idempotency-Key: hashed with the account, route, product and meter.
 * ecom9 de-duplicates on (account, event key), so without each of these a second debit or meter on
 * the same request (or the same key on another route or account) would be taken for a retry.
 */
export function scopedEventKey(ref: string, route: string, product: string, meter: string, idempotencyKey: string): string {
  return `idem_${sha256Base64url(`${ref}\u0000${route}\u0000${product}\u0000${meter}\u0000${idempotencyKey}`)}`;
}

export function ecom9State(ref: string | undefined, decision: Decision | undefined, credits?: CreditDecision): Ecom9State {
  const s: Ecom9State = { accountRefId: ref, decision };
  if (credits) s.credits = { debited: credits.debited, remainingBalance: credits.remainingBalance, eventKey: credits.eventKey };
  return s;
}
