// The Decision: what the gate concluded about one request. Adapters only translate it into a response.

/** Where a decision's facts came from. `fallback` is a fail-open allow taken while ecom9 was unreachable. */
export type DecisionSource = 'cache' | 'upstream' | 'stale' | 'fallback';

export type DenialCode =
  | 'account_unresolved'
  | 'tier_required'
  | 'entitlement_required'
  | 'insufficient_credits'
  | 'payment_required'
  | 'upstream_unavailable'
  | 'misconfigured'
  | 'invalid_quantity'
  | 'idempotency_key_mismatch'
  | 'idempotency_key_in_flight'
  | 'idempotency_key_not_replayable'
  | 'idempotency_unavailable'
  | 'idempotency_key_invalid';

export type DecisionCode = 'allowed' | DenialCode;

/** The facts a decision may carry; which ones depends on the check that made it. */
export interface DecisionFacts {
  readonly source: DecisionSource;
  readonly accountRefId?: string;
  readonly detail?: string;
  /** Tier checks: the tiers that would have been accepted, and the account's active ones. */
  readonly requiredTiers?: readonly string[];
  readonly activeTiers?: readonly string[];
  readonly subscription?: string;
  /** Entitlement checks. */
  readonly product?: string;
  readonly entitlement?: string;
  /** Credit debits. */
  readonly meter?: string;
  readonly requested?: number;
  readonly debited?: number;
  readonly remainingBalance?: number;
  readonly eventKey?: string;
  /** Links a client can act on: checkout for a higher tier, pay a past-due invoice, top up credits. */
  readonly upgradeUrl?: string;
  readonly paymentUrl?: string;
  readonly topUpUrl?: string;
  /** 503 only: seconds after which trying again makes sense. */
  readonly retryAfterSeconds?: number;
  /** How old the facts behind a stale decision were, in ms. */
  readonly ageMs?: number;
}

/** The request may go on. A fail-open allow keeps `upstream_unavailable` (source `fallback`) so it stays visible. */
export interface AllowedDecision extends DecisionFacts {
  readonly allowed: true;
  readonly code: 'allowed' | 'upstream_unavailable';
  readonly status: 200;
}

/** The request is refused: `code` says why, `status` is what an adapter answers (problem+json). */
export interface DeniedDecision extends DecisionFacts {
  readonly allowed: false;
  readonly code: DenialCode;
  readonly status: number;
}

/** What the gate concluded about one request: test `allowed` (or `code`) to narrow it. */
export type Decision = AllowedDecision | DeniedDecision;

const STATUS: Record<DecisionCode, number> = {
  allowed: 200,
  account_unresolved: 401,
  tier_required: 403,
  entitlement_required: 403,
  insufficient_credits: 402,
  payment_required: 402,
  upstream_unavailable: 503,
  misconfigured: 500,
  invalid_quantity: 400,
  idempotency_key_mismatch: 422,
  idempotency_key_in_flight: 409,
  idempotency_key_not_replayable: 409,
  idempotency_unavailable: 503,
  idempotency_key_invalid: 400,
};

const TITLE: Record<DenialCode, string> = {
  account_unresolved: 'Account not identified',
  tier_required: 'Subscription tier required',
  entitlement_required: 'Entitlement required',
  insufficient_credits: 'Insufficient credits',
  payment_required: 'Payment required',
  upstream_unavailable: 'Billing service unavailable',
  misconfigured: 'Billing misconfigured',
  invalid_quantity: 'Invalid quantity',
  idempotency_key_mismatch: 'Idempotency-Key reused on another request',
  idempotency_key_in_flight: 'A request with this Idempotency-Key is in progress',
  idempotency_key_not_replayable: 'The response to this Idempotency-Key cannot be replayed',
  idempotency_unavailable: 'Idempotency store unavailable',
  idempotency_key_invalid: 'Malformed Idempotency-Key',
};

export function allow(source: DecisionSource, facts: Omit<DecisionFacts, 'source'> = {}): AllowedDecision {
  return { allowed: true, code: 'allowed', status: 200, source, ...facts };
}

export function deny(code: DenialCode, source: DecisionSource, facts: Omit<DecisionFacts, 'source'> = {}): DeniedDecision {
  return { allowed: false, code, status: STATUS[code], source, ...facts };
}

/** The same decision, as seen by a later reader (a cache hit, or a stale answer of a given age). */
export function withSource<D extends Decision>(d: D, source: DecisionSource, ageMs?: number): D {
  return ageMs === undefined ? { ...d, source } : { ...d, source, ageMs };
}

/** An RFC 9457 problem document for a denial, with the members a client needs to act on it. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
  [member: string]: unknown;
}

// A URN rather than an invented web address: RFC 9457 only asks for a URI that identifies the type.
export const PROBLEM_TYPE_BASE = 'urn:ecom9-gate:problem:';
export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

/** The one problem+json builder: every denial, account-route error and 500 is made here. */
export function problemOf(status: number, code: string, title: string, detail: string, extra?: Record<string, unknown>): Problem {
  return { type: PROBLEM_TYPE_BASE + code, title, status, detail, code, ...extra };
}

/** Builds the problem+json body for a denied decision; shared by every adapter. */
export function toProblem(d: DeniedDecision): Problem {
  const p = problemOf(d.status, d.code, TITLE[d.code], d.detail ?? TITLE[d.code]);
  if (d.requiredTiers) p.required_tiers = d.requiredTiers;
  if (d.subscription) p.subscription = d.subscription;
  if (d.product) p.product = d.product;
  if (d.entitlement) p.entitlement = d.entitlement;
  if (d.meter) p.meter = d.meter;
  if (d.remainingBalance !== undefined) p.remaining_balance = d.remainingBalance;
  if (d.requested !== undefined) p.requested = d.requested;
  if (d.upgradeUrl) p.upgrade_url = d.upgradeUrl;
  if (d.paymentUrl) p.payment_url = d.paymentUrl;
  if (d.topUpUrl) p.top_up_url = d.topUpUrl;
  if (d.retryAfterSeconds !== undefined) p.retry_after = d.retryAfterSeconds;
  return p;
}

/** Response headers that go with a denial (Retry-After on 503). */
export function problemHeaders(d: DeniedDecision): Record<string, string> {
  const h: Record<string, string> = { 'content-type': PROBLEM_CONTENT_TYPE };
  if (d.retryAfterSeconds !== undefined) h['retry-after'] = String(d.retryAfterSeconds);
  return h;
}
