// What zod found wrong in a fixtures file or a console API body, as one message per field, each
// naming the field by its path and, for an unknown key, the nearest known one.
import type { z } from 'zod';
import { didYouMean } from '../shared/nearest-name';

export interface FieldIssue {
  /** The field's path, dotted (`accounts.0.subscriptions`); 'body' for the body as a whole. */
  field: string;
  message: string;
}

type AnyDef = { type: string; shape?: Record<string, z.ZodType>; element?: z.ZodType; innerType?: z.ZodType; in?: z.ZodType };

/** The keys an object schema knows at `path`, unwrapping optional, default, array and pipe layers. */
function knownKeys(schema: z.ZodType, path: readonly PropertyKey[]): string[] {
  let s: z.ZodType | undefined = schema;
  let i = 0;
  while (s) {
    const def: AnyDef = (s as unknown as { def: AnyDef }).def;
    if (def.innerType) s = def.innerType;
    else if (def.type === 'pipe') s = def.in;
    else if (i === path.length) return def.shape ? Object.keys(def.shape) : [];
    else if (def.type === 'array') [s, i] = [def.element, i + 1];
    else if (def.shape) [s, i] = [def.shape[String(path[i])], i + 1];
    else return [];
  }
  return [];
}

/** Unknown keys first: a misspelt key is usually why a required field is missing. */
export function fieldIssues(schema: z.ZodType, error: z.ZodError): FieldIssue[] {
  const issues = [...error.issues].sort((a, b) => Number(b.code === 'unrecognized_keys') - Number(a.code === 'unrecognized_keys'));
  return issues.flatMap((i) => {
    const at = i.path.map(String);
    if (i.code === 'unrecognized_keys') {
      const known = knownKeys(schema, i.path);
      return i.keys.map((k) => ({ field: [...at, k].join('.'), message: `unknown field "${k}"${didYouMean(k, known)}` }));
    }
    return [{ field: at.join('.') || 'body', message: i.message }];
  });
}

export const describeFieldIssues = (issues: readonly FieldIssue[]) => issues.map((i) => `${i.field}: ${i.message}`).join('; ');
