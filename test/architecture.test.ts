// The import rules of .dependency-cruiser.cjs (no folder cycles, core free of adapters and frameworks)
// hold for src/ and adapters/; the same check `npm run lint` runs, here through dependency-cruiser's API.
import { createRequire } from 'node:module';
import { cruise, type ICruiseResult, type IConfiguration } from 'dependency-cruiser';
import { describe, expect, it } from 'vitest';

const config = createRequire(import.meta.url)('../.dependency-cruiser.cjs') as IConfiguration;

async function cruised(paths: string[]): Promise<{ modules: number; violations: string[] }> {
  const { output } = await cruise(paths, { ...config.options, ruleSet: config, validate: true, tsConfig: undefined });
  const { summary } = output as ICruiseResult;
  const violations = summary.violations.map((v) => `${v.rule.name}: ${[v.from, ...(v.cycle ?? []).map((c) => c.name), v.to].join(' -> ')}`);
  return { modules: summary.totalCruised, violations };
}

describe('import rules (.dependency-cruiser.cjs)', () => {
  it('src/ and adapters/ break none of them', async () => {
    const { modules, violations } = await cruised(['src', 'adapters']);
    expect(modules).toBeGreaterThan(40);
    expect(violations).toEqual([]);
  }, 60_000);

  it('catch a folder cycle made of modules that do not cycle themselves', async () => {
    const found = (await cruised(['test/fixtures/folder-cycle'])).violations;
    expect(found.some((v) => v.startsWith('no-folder-cycles:'))).toBe(true);
    expect(found.some((v) => v.startsWith('no-module-cycles:'))).toBe(false);
  }, 60_000);
});
