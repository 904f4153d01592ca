// The gate's view of an account ref: the client's rule, phrased for a denial (never echoing the ref).
import { accountRefProblem } from '../client/account-ref';

/** Why the ref cannot be used, or undefined when it can. */
export function explainRef(ref: unknown): string | undefined {
  if (typeof ref !== 'string') return 'The account could not be identified.';
  return accountRefProblem(ref) === undefined ? undefined : 'The account reference is not valid.';
}
