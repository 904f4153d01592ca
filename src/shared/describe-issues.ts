// How every options check (createGate, createClient, redisBus, redisStore, the emulator's fixtures)
// words what zod found wrong: each bad option by its path, an unknown one with the nearest known name.
import type { z } from 'zod';
import { nearestName } from './nearest-name';

/** The keys a schema allows at `path` (through defaults, optionals and arrays), or none when unknown. */
export function knownKeysAt(schema: z.core.$ZodType | undefined, path: readonly PropertyKey[]): string[] {
  let s: z.core.$ZodType | undefined = schema;
  let i = 0;
  while (s) {
    const def = s._zod.def as {
      type: string;
      innerType?: z.core.$ZodType;
      in?: z.core.$ZodType;
      element?: z.core.$ZodType;
      shape?: Record<string, z.core.$ZodType>;
      options?: z.core.$ZodType[];
    };
    if (def.innerType) s = def.innerType;
    else if (def.type === 'pipe') s = def.in;
    else if (def.type === 'union') s = def.options?.find((o) => (o._zod.def as { type: string }).type === 'object');
    else if (i === path.length) return def.type === 'object' ? Object.keys(def.shape ?? {}) : [];
    else if (def.type === 'object') s = def.shape?.[String(path[i++])];
    else if (def.type === 'array') {
      s = def.element;
      i++;
    } else return [];
  }
  return [];
}

/**
 * Names each offending option by its path; never echoes values, since one of them may be a secret.
 * With the schema, an unknown key says the nearest known one, and a required option missing beside
 * a near unknown key (`apikey` for `apiKey`) is said once, as that mistake.
 */
export function describeIssues(issues: readonly z.core.$ZodIssue[], schema?: z.core.$ZodType): string {
  const unknown = new Map<string, { key: string; near: string | undefined }>();
  for (const i of issues) {
    if (i.code !== 'unrecognized_keys') continue;
    const known = knownKeysAt(schema, i.path);
    for (const k of i.keys) unknown.set([...i.path, k].join('.'), { key: k, near: nearestName(k, known) });
  }
  const told = new Set<string>();
  const out: string[] = [];
  for (const i of issues) {
    if (i.code === 'unrecognized_keys') continue;
    const where = i.path.join('.') || '(options)';
    // One complaint per option: the first is the one to fix.
    if (told.has(`=${where}`)) continue;
    told.add(`=${where}`);
    const message = i.code === 'invalid_type' && /received undefined$/.test(i.message) ? 'is required' : i.message;
    const parent = i.path.slice(0, -1).join('.');
    const name = String(i.path[i.path.length - 1] ?? '');
    const near = [...unknown].find(([w, u]) => u.near === name && w === (parent ? `${parent}.${u.key}` : u.key));
    if (near) {
      told.add(near[0]);
      out.push(`"${where}" ${message}: you gave "${near[0]}" (did you mean "${where}"?)`);
    } else out.push(`"${where}" ${message}`);
  }
  for (const [where, u] of unknown)
    if (!told.has(where)) out.push(`unknown option "${where}"${u.near === undefined ? '' : ` (did you mean "${[...parentOf(where), u.near].join('.')}"?)`}`);
  return out.join('; ');
}

/** The parent path of a dotted option path, as segments. */
const parentOf = (where: string): string[] => where.split('.').slice(0, -1);
