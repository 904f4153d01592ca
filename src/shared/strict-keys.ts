// Strictness for options objects checked by hand rather than by a zod schema (a route's middleware
// options, createTestGate, instrumentGate): an unknown key is an OptionsError naming it and the
// nearest known key, so a typo never silently drops what it was meant to say.
import { OptionsError } from './errors';
import { nearestName } from './nearest-name';

/**
 * Throws an OptionsError (or what `error` makes: an ArgumentError for a call's options) when `options` has an own key outside `known`: `${where}: unknown option
 * "subscripton" (did you mean "subscription"?)`. Values are never echoed. Not an object: left to the caller.
 */
export function checkKnownKeys(
  where: string,
  options: unknown,
  known: readonly string[],
  error: (message: string) => TypeError = (m) => new OptionsError(m),
): void {
  if (typeof options !== 'object' || options === null) return;
  const bad: string[] = [];
  for (const k of Object.keys(options)) {
    if (known.includes(k)) continue;
    const near = nearestName(k, known);
    bad.push(`unknown option "${k}"${near === undefined ? '' : ` (did you mean "${near}"?)`}`);
  }
  if (bad.length > 0) throw error(`ecom9-gate: ${where}: ${bad.join('; ')}`);
}
