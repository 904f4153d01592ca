// Account refs go into URL paths and query strings, so they are checked before any request: a ref
// that URL resolution would turn into another endpoint ('.', '..', any %2e spelling), that is empty,
// over-long, holds control characters or is not well-formed UTF-16 never leaves the process.
import { ValidationError } from './errors';

export const MAX_ACCOUNT_REF_LENGTH = 256;

// NUL to US, DEL, and the C1 controls.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point.
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

// String.prototype.isWellFormed is in Node 20 but not in the ES2023 lib this project compiles with.
type WellFormed = string & { isWellFormed(): boolean };

/** Why a ref is refused, or undefined when it is fine. Never echoes the ref. */
export function accountRefProblem(ref: string): string | undefined {
  if (typeof ref !== 'string' || ref.length === 0) return 'must be a non-empty string';
  if (ref.length > MAX_ACCOUNT_REF_LENGTH) return `must be at most ${MAX_ACCOUNT_REF_LENGTH} characters`;
  if (CONTROL.test(ref)) return 'must not contain control characters';
  // A lone surrogate makes encodeURIComponent throw (seen by callers as an outage) and turns into
  // U+FFFD in a query string, i.e. another account's ref.
  if (!(ref as WellFormed).isWellFormed()) return 'must be well-formed Unicode (no lone surrogates)';
  // Every metered request checks its ref: the pattern runs only on a ref that can be a dot segment.
  const c0 = ref.charCodeAt(0);
  if ((c0 === 46 || c0 === 37) && ref.length <= 6 && /^(\.|%2e){1,2}$/i.test(ref)) return 'must not be a dot segment (".", "..")';
  return undefined;
}

export function assertAccountRef(ref: string): void {
  const problem = accountRefProblem(ref);
  if (problem) throw new ValidationError(`account_ref_id ${problem}`, { account_ref_id: [problem] });
}

/** One path segment, percent-encoded. */
export function pathSegment(ref: string): string {
  assertAccountRef(ref);
  return encodeURIComponent(ref);
}

/** The gate's view of a ref: this rule phrased for a denial (never echoing the ref); undefined when usable. */
export function explainRef(ref: unknown): string | undefined {
  if (typeof ref !== 'string') return 'The account could not be identified.';
  return accountRefProblem(ref) === undefined ? undefined : 'The account reference is not valid.';
}
