// Which ecom9 failures are the gate's own configuration rather than an outage or an answer: those
// must not be hidden by stale facts, let through by failMode 'open', or cached as denials.
import { AuthenticationError, NotFoundError } from './errors';
import { isEcom9NotFound } from './rules';

/**
 * Why a failure is a misconfiguration rather than an outage, or undefined: ecom9 refusing the API
 * key (401/403), or a 404 without ecom9's `{"error": ...}` body (the base URL points elsewhere).
 */
export function misconfiguration(e: unknown): string | undefined {
  if (e instanceof AuthenticationError) return 'ecom9 refused the API key (check apiKey and authScheme)';
  if (e instanceof NotFoundError && !isEcom9NotFound(e)) {
    return `ecom9${e.endpoint ? ` ${e.endpoint}` : ''} answered 404 without ecom9's error body (check baseUrl)`;
  }
  return undefined;
}
