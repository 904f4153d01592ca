// The package's public entry points, read from package.json `exports` (never a hand-kept list), and
// the build they resolve to: what the surface test and the API report both start from.
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

export const root = fileURLToPath(new URL('..', import.meta.url));

/** One way in: `import` or `require` (or another condition) with its types and its JS file. */
export interface EntryTarget {
  condition: string;
  types: string;
  js: string;
}
export interface PackageEntry {
  /** The key in `exports`: '.', './express', ... */
  subpath: string;
  /** What a user writes: 'ecom9-gate', 'ecom9-gate/express', ... */
  specifier: string;
  /** 'ecom9-gate', 'express', 'a-b' for './a/b': a file name for its API report. */
  reportName: string;
  targets: EntryTarget[];
}

type Target = string | null | { [condition: string]: Target };

function pkg(): { name: string; exports: Record<string, Target> } {
  return JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
}

/**
 * Every subpath of `exports` that leads to code: each top-level condition (import, require, or one a
 * runtime adds) with its `types` and `default`. A subpath that is not code ('./package.json') is
 * skipped; code without types is an error, since users of that subpath would get `any`.
 */
export function packageEntries(): PackageEntry[] {
  const { name, exports } = pkg();
  const entries: PackageEntry[] = [];
  for (const [subpath, target] of Object.entries(exports)) {
    const targets: EntryTarget[] = [];
    if (typeof target === 'string' || target === null) {
      if (typeof target === 'string' && /\.[cm]?js$/.test(target)) throw new Error(`exports['${subpath}'] has code but no types`);
      continue;
    }
    for (const [condition, value] of Object.entries(target)) {
      if (condition === 'types') continue;
      // { import: { types, default } }, or { types, import: './x.js' } with the types beside it.
      const { types, default: js } = typeof value === 'string' ? { types: target.types, default: value } : (value ?? {});
      if (typeof types !== 'string' || typeof js !== 'string') throw new Error(`exports['${subpath}'].${condition} needs its types and its default`);
      targets.push({ condition, types: join(root, types), js: join(root, js) });
    }
    const rest = subpath.replace(/^\.\/?/, '');
    entries.push({ subpath, specifier: rest ? `${name}/${rest}` : name, reportName: rest ? rest.replaceAll('/', '-') : name, targets });
  }
  return entries;
}

const SOURCES = ['src', 'adapters', 'package.json', 'tsup.config.ts', 'tsconfig.json'];

function newestMtime(path: string): number {
  const s = statSync(path);
  if (!s.isDirectory()) return s.mtimeMs;
  let newest = s.mtimeMs;
  for (const e of readdirSync(path)) newest = Math.max(newest, newestMtime(join(path, e)));
  return newest;
}

/** Why dist/ cannot be trusted (a built file missing, or older than a source), or undefined when it can. */
export function staleBuild(): string | undefined {
  const files = packageEntries().flatMap((e) => e.targets.flatMap((t) => [t.types, t.js]));
  const missing = files.find((f) => !existsSync(f));
  if (missing) return `${missing} is missing`;
  const built = Math.min(...files.map((f) => statSync(f).mtimeMs));
  const changed = SOURCES.map((s) => join(root, s)).filter((s) => existsSync(s) && newestMtime(s) > built);
  return changed.length ? `${changed.join(', ')} changed since the last build` : undefined;
}

/** Runs `npm run build` when dist/ is missing or older than the sources; returns what it did. */
export async function ensureBuilt(): Promise<string> {
  const why = staleBuild();
  if (!why) return 'dist is up to date';
  await promisify(execFile)('npm', ['run', '--silent', 'build'], { cwd: root, maxBuffer: 16 * 1024 * 1024 });
  return `built dist (${why})`;
}
