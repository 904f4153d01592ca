// How every options check (createGate, createClient, redisBus) words what zod found wrong.
import type { z } from 'zod';

/** Names each offending option by its path; never echoes values, since one of them may be a secret. */
export function describeIssues(issues: readonly z.core.$ZodIssue[]): string {
  return issues
    .map((i) => {
      if (i.code === 'unrecognized_keys') {
        return i.keys.map((k) => `unknown option "${[...i.path, k].join('.')}"`).join('; ');
      }
      return `"${i.path.join('.') || '(options)'}" ${i.message}`;
    })
    .join('; ');
}
