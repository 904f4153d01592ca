// Every error class ecom9-gate throws or reports (docs/errors.md), each with a stable `code`. Two
// families: bad options or arguments are TypeErrors (OptionsError, ArgumentError), thrown at once to
// the caller; everything else is an Ecom9Error (the client's rejections by cause, and what the gate
// reports to onError from the background). None ever carries the API key: requests' headers are never
// attached, and toJSON lists only safe fields. Every message starts with PREFIX.
import type { EndpointName } from './endpoints';

/** What every message of this package starts with. */
export const PREFIX = 'ecom9-gate: ';

/** The message with PREFIX, once. */
export const prefixed = (message: string): string => (message.startsWith(PREFIX) ? message : PREFIX + message);

export interface Ecom9ErrorInit {
  status?: number | undefined;
  endpoint?: EndpointName | undefined;
  body?: unknown;
  cause?: unknown;
}

/** The root of every error but the TypeErrors: a client's rejection, or a report of the gate's. */
export class Ecom9Error extends Error {
  override name = 'Ecom9Error';
  /** A stable machine-readable cause. */
  readonly code: string = 'ecom9_error';
  /** The HTTP status, when a response arrived. */
  readonly status: number | undefined;
  readonly endpoint: EndpointName | undefined;
  /** The parsed response body, when there was one. */
  readonly body: unknown;

  constructor(message: string, init: Ecom9ErrorInit = {}) {
    super(prefixed(message), init.cause === undefined ? undefined : { cause: init.cause });
    this.status = init.status;
    this.endpoint = init.endpoint;
    this.body = init.body;
  }

  toJSON(): Record<string, unknown> {
    return { name: this.name, code: this.code, message: this.message, status: this.status, endpoint: this.endpoint };
  }
}

/** 401: the API key was missing or refused. */
export class AuthenticationError extends Ecom9Error {
  override name = 'AuthenticationError';
  override readonly code = 'authentication_failed';
}

/** 404: unknown account, tier, product or page. */
export class NotFoundError extends Ecom9Error {
  override name = 'NotFoundError';
  override readonly code = 'not_found';
}

/** 400 from ecom9, or a parameter refused before sending (then `status` is undefined). */
export class ValidationError extends Ecom9Error {
  override name = 'ValidationError';
  override readonly code = 'validation_failed';
  readonly fields: Record<string, string[]>;
  constructor(message: string, fields: Record<string, string[]>, init: Ecom9ErrorInit = {}) {
    super(message, init);
    this.fields = fields;
  }
  override toJSON() {
    return { ...super.toJSON(), fields: this.fields };
  }
}

/** 429: slowed down by ecom9; `retryAfterMs` from Retry-After when it was sent. */
export class RateLimitError extends Ecom9Error {
  override name = 'RateLimitError';
  override readonly code = 'rate_limited';
  readonly retryAfterMs: number | undefined;
  constructor(message: string, retryAfterMs: number | undefined, init: Ecom9ErrorInit = {}) {
    super(message, init);
    this.retryAfterMs = retryAfterMs;
  }
  override toJSON() {
    return { ...super.toJSON(), retryAfterMs: this.retryAfterMs };
  }
}

/** 5xx. */
export class ServerError extends Ecom9Error {
  override name = 'ServerError';
  override readonly code = 'server_error';
}

/** Any other unexpected status. */
export class ApiError extends Ecom9Error {
  override name = 'ApiError';
  override readonly code = 'api_error';
}

/** An attempt took longer than the per-attempt timeout. */
export class TimeoutError extends Ecom9Error {
  override name = 'TimeoutError';
  override readonly code = 'timeout';
}

/** The connection failed or was dropped before a full response. */
export class ConnectionError extends Ecom9Error {
  override name = 'ConnectionError';
  override readonly code = 'connection_failed';
}

/** The response was not JSON, or failed its schema. */
export class InvalidResponseError extends Ecom9Error {
  override name = 'InvalidResponseError';
  override readonly code = 'invalid_response';
}

/**
 * The caller's `signal` aborted the call (before sending, during an attempt or while waiting to
 * retry). An Ecom9Error, so `isEcom9Error` still covers every rejection of the client, and named
 * 'AbortError' like fetch's, so the usual `err.name === 'AbortError'` check works; the signal's
 * reason is the `cause`. Never retried.
 */
export class AbortedError extends Ecom9Error {
  override name = 'AbortError';
  override readonly code = 'aborted';
}

/** The client was closed, or undici refused the request before sending it: final, never retried. */
export class ClientStateError extends Ecom9Error {
  override name = 'ClientStateError';
  override readonly code = 'client_unusable';
}

/** A bad option of createGate, createClient, redisBus, an adapter, a route's middleware or the emulator: thrown at start-up. */
export class OptionsError extends TypeError {
  readonly code = 'invalid_options';
  constructor(message: string, options?: { cause?: unknown }) {
    super(prefixed(message), options);
  }
}

/** A bad argument to a call (checkTier, debitCredits, recordUsage, handleWebhook, ...): thrown (or the promise rejects) before anything is sent. */
export class ArgumentError extends TypeError {
  readonly code = 'invalid_argument';
  constructor(message: string, options?: { cause?: unknown }) {
    super(prefixed(message), options);
  }
}

/**
 * Reported (onError) once per cause: ecom9 refused the gate's own configuration (the API key, a
 * baseUrl answering foreign 404s, a route's product or meter). The request got a 500 'misconfigured'.
 */
export class MisconfigurationError extends Ecom9Error {
  override name = 'MisconfigurationError';
  override readonly code = 'misconfigured';
}

/** What kind of billing name an UnknownNameError is about. */
export type UnknownNameKind = 'tier' | 'subscription' | 'product';

/** What an UnknownNameError is about. */
export interface UnknownNameDetails {
  kind: UnknownNameKind;
  label: string;
  suggestion: string | undefined;
  check: string;
  route?: string | undefined;
}

/**
 * Reported (onError) once per name: ecom9's catalogue has no tier, subscription or product of that
 * name, so the check naming it (`check`, and the `route` that first showed it, when the adapter
 * knows it) denies every account. `suggestion` is the nearest name ecom9 does know.
 */
export class UnknownNameError extends Ecom9Error {
  override name = 'UnknownNameError';
  override readonly code = 'unknown_name';
  readonly kind: UnknownNameKind;
  readonly label: string;
  readonly suggestion: string | undefined;
  readonly check: string;
  readonly route: string | undefined;
  constructor(message: string, details: UnknownNameDetails) {
    super(message);
    this.kind = details.kind;
    this.label = details.label;
    this.suggestion = details.suggestion;
    this.check = details.check;
    this.route = details.route;
  }
  override toJSON() {
    return { ...super.toJSON(), kind: this.kind, label: this.label, suggestion: this.suggestion, check: this.check, route: this.route };
  }
}

/** Reported (onError) for a usage event that will not be delivered (by this process). */
export class UsageDeliveryError extends Ecom9Error {
  override name = 'UsageDeliveryError';
  override readonly code = 'usage_not_delivered';
  /** True when the event stays in the spool and is sent again on the next start. */
  readonly spooled: boolean;
  readonly event: UsageEventRef;
  constructor(message: string, event: UsageEventRef, options?: { cause?: unknown; spooled?: boolean }) {
    super(message, { cause: options?.cause });
    this.event = event;
    this.spooled = options?.spooled ?? false;
  }
  override toJSON() {
    return { ...super.toJSON(), spooled: this.spooled, event: this.event };
  }
}

/** Which usage event a UsageDeliveryError is about. */
export interface UsageEventRef {
  accountRefId: string;
  product: string;
  meter: string;
  quantity: number;
  eventKey: string;
}

/** Reported (onError) at start-up: lines of the usage spool could not be read and were skipped. */
export class UsageSpoolError extends Ecom9Error {
  override name = 'UsageSpoolError';
  override readonly code = 'usage_spool_unreadable';
}

/** Reported (onError) once per outage: the invalidation bus (Redis) is down; entries expire by TTL until it is back. */
export class BusUnavailableError extends Ecom9Error {
  override name = 'BusUnavailableError';
  override readonly code = 'bus_unavailable';
}

/** Reported (onError) once per outage: ecom9 cannot be reached (connection, timeouts, 5xx, 429); logged again when it answers. */
export class UpstreamUnreachableError extends Ecom9Error {
  override name = 'UpstreamUnreachableError';
  override readonly code = 'upstream_unreachable';
}

/** Reported (onError) once per outage: the shared fact store (Redis) is down or slow; each instance asks ecom9 itself until it is back. */
export class StoreUnavailableError extends Ecom9Error {
  override name = 'StoreUnavailableError';
  override readonly code = 'store_unavailable';
}

/** A parsed body cannot be verified (re-serialising it changes the bytes), so this says how to mount. */
export class WebhookMountError extends Ecom9Error {
  override name = 'WebhookMountError';
  override readonly code = 'webhook_body_consumed';
}

/** A user callback (onDenied) failed without an Error of its own (a falsy rejection): this stands in for it. */
export class CallbackError extends Ecom9Error {
  override name = 'CallbackError';
  override readonly code = 'callback_failed';
}

/** `hold.use(n)` on a hold that is settled, settling, released or expired: it can charge nothing more. */
export class HoldClosedError extends Ecom9Error {
  override name = 'HoldClosedError';
  override readonly code = 'hold_closed';
}

/**
 * Reported (onError) for a hold whose use was not charged: ecom9 refused the debit (the balance fell
 * short of what the hold had reserved, or the product is misconfigured), or the debit could not be
 * sent (then `journaled` says whether the next start sends it again).
 */
export class HoldChargeError extends Ecom9Error {
  override name = 'HoldChargeError';
  override readonly code = 'hold_not_charged';
  readonly hold: HoldRef;
  /** True when the use stays in the hold journal (`usage.spoolPath`) and is charged on the next start. */
  readonly journaled: boolean;
  constructor(message: string, hold: HoldRef, options?: { cause?: unknown; journaled?: boolean }) {
    super(message, { cause: options?.cause });
    this.hold = hold;
    this.journaled = options?.journaled ?? false;
  }
  override toJSON() {
    return { ...super.toJSON(), journaled: this.journaled, hold: this.hold };
  }
}

/** Which hold a HoldChargeError is about. */
export interface HoldRef {
  accountRefId: string;
  product: string;
  meter: string;
  key: string;
  quantity: number;
  eventKey: string;
}

/**
 * A hold could not be counted fleet-wide (the redisStore is down or slow): with failMode 'closed'
 * the hold is refused with 503; with 'open' it is counted in this process only. Reported once per outage.
 */
export class HoldLedgerUnavailableError extends Ecom9Error {
  override name = 'HoldLedgerUnavailableError';
  override readonly code = 'hold_ledger_unavailable';
}

/** The problem+json members a refused model call carries (the Decision's, as `toProblem` writes them). */
export interface DeniedProblem {
  code: string;
  status: number;
  detail?: string;
  [member: string]: unknown;
}

/**
 * A model call (ecom9-gate/ai) the gate refused before the model ran: the account is not resolved,
 * ecom9 is unreachable with failMode 'closed', or the route is misconfigured. `problem` is the
 * problem+json object an adapter would answer with, so an app can send it as is.
 */
export class CreditsDeniedError extends Ecom9Error {
  override name = 'CreditsDeniedError';
  override readonly code: string = 'credits_denied';
  /** The problem+json object of the denial (`code`, `status`, `detail`, links). */
  readonly problem: DeniedProblem;
  constructor(message: string, problem: DeniedProblem) {
    super(message, { status: problem.status });
    this.problem = problem;
  }
  override toJSON() {
    return { ...super.toJSON(), problem: this.problem };
  }
}

/** A model call refused because the prepaid balance cannot cover its reserve: the model was not called. */
export class InsufficientCreditsError extends CreditsDeniedError {
  override name = 'InsufficientCreditsError';
  override readonly code = 'insufficient_credits';
  /** What ecom9 said is left (less what open holds reserve), when it said. */
  readonly remainingBalance: number | undefined;
  /** Where the user can buy more, when the gate knows (the `topUpUrl` option). */
  readonly topUpUrl: string | undefined;
  constructor(message: string, problem: DeniedProblem) {
    super(message, problem);
    this.remainingBalance = typeof problem.remaining_balance === 'number' ? problem.remaining_balance : undefined;
    this.topUpUrl = typeof problem.top_up_url === 'string' ? problem.top_up_url : undefined;
  }
  override toJSON() {
    return { ...super.toJSON(), remainingBalance: this.remainingBalance, topUpUrl: this.topUpUrl };
  }
}

export function isEcom9Error(e: unknown): e is Ecom9Error {
  return e instanceof Ecom9Error;
}
