// Typed errors of the ecom9 client, all under Ecom9Error, picked by cause. None ever carries the API
// key: requests' headers are never attached, and toJSON lists only safe fields.
import type { EndpointName } from './endpoints';

export interface Ecom9ErrorInit {
  status?: number | undefined;
  endpoint?: EndpointName | undefined;
  body?: unknown;
  cause?: unknown;
}

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
    super(message, init.cause === undefined ? undefined : { cause: init.cause });
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

export function isEcom9Error(e: unknown): e is Ecom9Error {
  return e instanceof Ecom9Error;
}

/** Picks the error class for an HTTP status. */
export function errorForStatus(status: number, endpoint: EndpointName, body: unknown, retryAfterMs: number | undefined): Ecom9Error {
  const init = { status, endpoint, body };
  const where = `ecom9 ${endpoint}`;
  if (status === 400) return new ValidationError(`${where}: invalid request`, fieldMap(body), init);
  if (status === 401 || status === 403) return new AuthenticationError(`${where}: ${detailOf(body) ?? 'authentication failed'}`, init);
  if (status === 404) return new NotFoundError(`${where}: ${errorOf(body) ?? 'not found'}`, init);
  if (status === 429) return new RateLimitError(`${where}: rate limited`, retryAfterMs, init);
  if (status >= 500) return new ServerError(`${where}: server error ${status}`, init);
  return new ApiError(`${where}: unexpected status ${status}`, init);
}

function fieldMap(body: unknown): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  if (body && typeof body === 'object') {
    for (const [k, v] of Object.entries(body)) {
      if (Array.isArray(v)) out[k] = v.map(String);
      else if (typeof v === 'string') out[k] = [v];
    }
  }
  return out;
}

const detailOf = (b: unknown) => (b && typeof (b as { detail?: unknown }).detail === 'string' ? (b as { detail: string }).detail : undefined);
const errorOf = (b: unknown) => (b && typeof (b as { error?: unknown }).error === 'string' ? (b as { error: string }).error : undefined);
