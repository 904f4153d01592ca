// API reports (api/<entry>.api.md) of every subpath in package.json `exports`, by API Extractor, from
// the built .d.ts: a change of the public surface shows in review. `npm run api:update` rewrites them;
// test/surface.test.ts fails when one differs from the build. One compiler program serves all entries.
import { mkdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { CompilerState, Extractor, ExtractorConfig, ExtractorLogLevel, type IConfigFile } from '@microsoft/api-extractor';
import { ensureBuilt, packageEntries, root } from './package-entries';

export const REPORT_FOLDER = join(root, 'api');
const TEMP_FOLDER = join(root, '.tmp', 'api');

export interface ApiReport {
  subpath: string;
  /** The committed report, relative to the repository. */
  file: string;
  /** The report made from the build, for a message. */
  built: string;
  changed: boolean;
  /** Errors API Extractor raised (not the report's own warnings, which it writes into the report). */
  errors: string[];
}

function config(name: string, typesFile: string): ExtractorConfig {
  const configObject: IConfigFile = {
    projectFolder: root,
    mainEntryPointFilePath: typesFile,
    newlineKind: 'lf',
    compiler: {
      overrideTsconfig: {
        compilerOptions: {
          target: 'es2022',
          lib: ['es2023'],
          module: 'nodenext',
          moduleResolution: 'nodenext',
          types: ['node'],
          strict: true,
          skipLibCheck: true,
        },
      },
      skipLibCheck: true,
    },
    apiReport: { enabled: true, reportFileName: name, reportFolder: REPORT_FOLDER, reportTempFolder: TEMP_FOLDER },
    docModel: { enabled: false },
    dtsRollup: { enabled: false },
    tsdocMetadata: { enabled: false },
    messages: {
      // Our JSDoc is for editors (@default ...), not TSDoc; release tags are not used: @internal is stripped from the build.
      tsdocMessageReporting: { default: { logLevel: ExtractorLogLevel.None } },
      extractorMessageReporting: {
        'ae-missing-release-tag': { logLevel: ExtractorLogLevel.None },
        // A public type that names an unexported one: written into the report, where review sees it.
        'ae-forgotten-export': { logLevel: ExtractorLogLevel.None, addToApiReportFile: true },
      },
    },
  };
  return ExtractorConfig.prepare({ configObject, configObjectFullPath: undefined, packageJsonFullPath: join(root, 'package.json') });
}

/** Makes the report of every entry from dist/ (built first if stale); with `update`, writes them to api/. */
export function apiReports(update: boolean): ApiReport[] {
  mkdirSync(TEMP_FOLDER, { recursive: true });
  if (update) mkdirSync(REPORT_FOLDER, { recursive: true });
  const entries = packageEntries().map((e) => {
    // The import condition's .d.ts (the .d.cts must declare the same values: test/surface.test.ts).
    const types = (e.targets.find((t) => t.condition === 'import') ?? e.targets[0])?.types;
    if (!types) throw new Error(`exports['${e.subpath}'] has no types`);
    return { ...e, config: config(e.reportName, types) };
  });
  const first = entries[0];
  if (!first) return [];
  const compilerState = CompilerState.create(first.config, { additionalEntryPoints: entries.map((e) => e.config.mainEntryPointFilePath) });
  return entries.map((e) => {
    const errors: string[] = [];
    const result = Extractor.invoke(e.config, {
      compilerState,
      localBuild: update,
      messageCallback: (m) => {
        // Our own wording replaces the console's; errors are kept for the caller.
        if (m.logLevel === ExtractorLogLevel.Error) errors.push(m.formatMessageWithLocation(root));
        m.handled = true;
      },
    });
    const report = e.config.reportConfigs[0];
    if (!report) throw new Error('no report configured');
    const committed = join(REPORT_FOLDER, report.fileName);
    const built = join(TEMP_FOLDER, report.fileName);
    if (!result.succeeded && !result.apiReportChanged) errors.push(`API Extractor failed on ${e.subpath} (${result.errorCount} errors)`);
    return { subpath: e.subpath, file: relative(root, committed), built: readFileSync(built, 'utf8'), changed: result.apiReportChanged, errors };
  });
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].replace(/\\/g, '/'))) {
  const update = process.argv.includes('--update');
  console.log(await ensureBuilt());
  const reports = apiReports(update);
  for (const r of reports) {
    for (const e of r.errors) console.error(e);
    console.log(`${r.file}: ${r.changed ? (update ? 'updated' : 'DIFFERS from the build (run npm run api:update)') : 'unchanged'}`);
  }
  if (reports.some((r) => r.errors.length || (!update && r.changed))) process.exitCode = 1;
}
