// The published surface, from the BUILT package: for every subpath of package.json `exports`, the names
// a user can load (import() and require() in a plain Node process) are exactly the values the .d.ts and
// .d.cts promise; every type a signature names is exported by name (the core types from every subpath
// that re-exports them), and test/types.test.ts, which names them, compiles against the .d.ts; and each
// entry's API report (api/*.api.md) matches the build and warns of no unexported type.
//
// dist/ is built by the globalSetup (test/support/build-dist.ts) before the tests start, when it is
// missing or older than the sources; the beforeAll below only repeats that check (~10 ms), so this file
// also runs right when the globalSetup guessed it would not be run.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import ts from 'typescript';
import { beforeAll, describe, expect, it } from 'vitest';
import { type ApiReport, apiReports } from '../scripts/api-report';
import { ensureBuilt, packageEntries, root } from '../scripts/package-entries';

const entries = packageEntries();
const targets = entries.flatMap((e) => e.targets.map((t) => ({ ...e, ...t })));

beforeAll(async () => {
  await ensureBuilt();
}, 300_000);

/** Follows a chain of re-exports: a value unless its target is only a type or one link is `export type`. */
function isValue(checker: ts.TypeChecker, symbol: ts.Symbol): boolean {
  let s: ts.Symbol | undefined = symbol;
  while (s && s.flags & ts.SymbolFlags.Alias) {
    if (s.declarations?.some((d) => ts.isTypeOnlyImportOrExportDeclaration(d))) return false;
    s = checker.getImmediateAliasedSymbol(s);
  }
  return s !== undefined && (s.flags & ts.SymbolFlags.Value) !== 0;
}

/** The value exports a declaration file promises, as TypeScript resolves them (aliases followed, type-only re-exports left out). */
function declaredValues(files: string[]): Map<string, string[]> {
  return declared(files, isValue);
}

/** Whether an export is a type only (an interface, a type alias; not a class, which is a value too), aliases followed. */
function isType(checker: ts.TypeChecker, symbol: ts.Symbol): boolean {
  const s = symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol;
  return (s.flags & ts.SymbolFlags.Type) !== 0 && (s.flags & ts.SymbolFlags.Value) === 0;
}

/** The exports of each declaration file that pass `keep`, sorted. */
function declared(files: string[], keep: (checker: ts.TypeChecker, s: ts.Symbol) => boolean): Map<string, string[]> {
  const program = ts.createProgram(files, {
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022,
    types: ['node'],
    skipLibCheck: true,
    noEmit: true,
  });
  const checker = program.getTypeChecker();
  const out = new Map<string, string[]>();
  for (const file of files) {
    const source = program.getSourceFile(file);
    const mod = source && checker.getSymbolAtLocation(source);
    if (!mod) throw new Error(`${file} is not a module`);
    const values = checker
      .getExportsOfModule(mod)
      .filter((s) => keep(checker, s))
      .map((s) => s.name);
    out.set(file, values.sort());
  }
  return out;
}

type How = 'import' | 'require';
const how = (t: (typeof targets)[number]): How => (t.condition === 'require' || (t.condition !== 'import' && t.js.endsWith('.cjs')) ? 'require' : 'import');

/**
 * What a plain Node process gets by import() or require(): for the import and require conditions the
 * package loads itself by name, so the `exports` map and its conditions apply as for a user, with no
 * vite alias in between; another condition (a runtime's) is loaded from its file. Also where each
 * specifier resolved, to show the map led to the file checked.
 */
async function loaded(jobs: { spec: string; how: How }[]): Promise<{ file: string; names: string[] }[]> {
  const script = `
    import { createRequire } from 'node:module';
    import { fileURLToPath, pathToFileURL } from 'node:url';
    const require = createRequire(process.cwd() + '/');
    const names = (m) => Object.keys(m).sort();
    const out = [];
    for (const { spec, how } of JSON.parse(process.argv[1])) {
      if (how === 'require') out.push({ file: require.resolve(spec), names: names(require(spec)) });
      else {
        const url = spec.startsWith('/') ? pathToFileURL(spec).href : import.meta.resolve(spec);
        out.push({ file: fileURLToPath(url), names: names(await import(url)) });
      }
    }
    process.stdout.write(JSON.stringify(out));
  `;
  const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script, JSON.stringify(jobs)], { cwd: root });
  return JSON.parse(stdout);
}

describe('every value the types promise exists at run time, and nothing more', () => {
  const jobs = targets.map((t) => ({ spec: t.condition === 'import' || t.condition === 'require' ? t.specifier : t.js, how: how(t) }));
  let declared: Map<string, string[]>;
  let runtime: Awaited<ReturnType<typeof loaded>>;
  beforeAll(async () => {
    declared = declaredValues(targets.map((t) => t.types));
    runtime = await loaded(jobs);
  }, 60_000);

  it('reads the subpaths from package.json, core first, each with types', () => {
    expect(entries[0]?.specifier).toBe('ecom9-gate');
    expect(entries.every((e) => e.targets.length > 0)).toBe(true);
  });

  it.each(targets.map((t, i) => [`${t.specifier} by ${how(t)} (${t.condition} condition)`, t, i] as const))('%s', (_, t, i) => {
    const got = runtime[i];
    expect(got?.file, `${jobs[i]?.spec} by ${how(t)} loads the file the exports map names`).toBe(t.js);
    const promised = declared.get(t.types) ?? [];
    const names = got?.names ?? [];
    expect(promised.length, `${t.types} declares no values`).toBeGreaterThan(0);
    expect(
      { typedButMissingAtRuntime: promised.filter((n) => !names.includes(n)), atRuntimeButUntyped: names.filter((n) => !promised.includes(n)) },
      `${t.types} vs what ${how(t)} of ${t.specifier} gives`,
    ).toEqual({ typedButMissingAtRuntime: [], atRuntimeButUntyped: [] });
  });
});

describe('API reports (api/*.api.md)', () => {
  let reports: ApiReport[];
  beforeAll(() => {
    // One compiler program for every entry; after the build above.
    reports = apiReports(false);
  }, 120_000);

  it.each(entries.map((e) => [e.subpath] as const))('the report of %s matches the build', (subpath) => {
    const r = reports.find((x) => x.subpath === subpath);
    expect(r, `no report made for ${subpath}`).toBeDefined();
    if (!r) return;
    expect(r.errors).toEqual([]);
    expect(r.changed, `${r.file} differs from the build: review the change, then run \`npm run api:update\` and commit ${r.file}`).toBe(false);
  });

  it.each(entries.map((e) => [e.subpath] as const))('the report of %s names no type its entry does not export', (subpath) => {
    const r = reports.find((x) => x.subpath === subpath);
    const forgotten = [...(r?.built ?? '').matchAll(/\(ae-forgotten-export\) The symbol "([^"]+)"/g)].map((m) => m[1]);
    expect(
      forgotten,
      `${subpath}'s signatures name these without exporting them: export them by name (src/types.ts), or keep them out of the signature`,
    ).toEqual([]);
  });
});

// ecom9-gate/react (browser code) and ecom9-gate/emulator (no gate) have types of their own; every
// other subpath re-exports the core's (src/types.ts), and ecom9-gate/testing the emulator's too.
const OWN_TYPES = new Set(['.', './react', './emulator']);

describe('every public type is exported by name', () => {
  const importTypes = (subpath: string) => {
    const e = entries.find((x) => x.subpath === subpath);
    const t = e?.targets.find((x) => x.condition === 'import') ?? e?.targets[0];
    if (!t) throw new Error(`no types for ${subpath}`);
    return t.types;
  };
  let types: Map<string, string[]>;
  beforeAll(() => {
    types = declared(
      entries.map((e) => importTypes(e.subpath)),
      isType,
    );
  }, 60_000);

  it.each(entries.filter((e) => !OWN_TYPES.has(e.subpath)).map((e) => [e.specifier, e.subpath] as const))(
    '%s exports every type ecom9-gate does',
    (_, subpath) => {
      const has = new Set(types.get(importTypes(subpath)));
      const wanted = [...(types.get(importTypes('.')) ?? []), ...(subpath === './testing' ? (types.get(importTypes('./emulator')) ?? []) : [])];
      expect(
        wanted.filter((n) => !has.has(n)),
        `missing from ${subpath}: add them to src/types.ts (or src/emulator/types.ts)`,
      ).toEqual([]);
    },
  );

  it('test/types.test.ts, which names every option and return type of every subpath, compiles against the built .d.ts', () => {
    const config = ts.getParsedCommandLineOfConfigFile(
      join(root, 'test', 'tsconfig.types.json'),
      {},
      { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => {} },
    );
    if (!config) throw new Error('cannot read test/tsconfig.types.json');
    // Each subpath resolves to its built .d.ts, as for a user, instead of to the sources.
    const paths = Object.fromEntries(entries.map((e) => [e.specifier, [importTypes(e.subpath)]]));
    const program = ts.createProgram(config.fileNames, { ...config.options, paths, strict: true, noEmit: true });
    const errors = ts
      .getPreEmitDiagnostics(program)
      .map((d) => ts.formatDiagnostic(d, { getCanonicalFileName: (f) => f, getCurrentDirectory: () => root, getNewLine: () => '\n' }));
    expect(errors).toEqual([]);
  }, 120_000);
});
