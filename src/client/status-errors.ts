// Which Ecom9Error an HTTP answer of ecom9 becomes: the client's reading of statuses and error bodies.
import type { EndpointName } from '../shared/endpoints';
import { ApiError, AuthenticationError, type Ecom9Error, NotFoundError, RateLimitError, ServerError, ValidationError } from '../shared/errors';

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
