// vitest globalSetup: builds dist/ once, before any test starts, when it is missing or older than the
// sources and this run includes a test of the built package (test/surface.test.ts, and test/edge.test.ts,
// which bundles it for workerd).
//
// Why here rather than a pretest script: the freshness check costs ~10 ms in this process, a pretest
// script ~0.9 s of CPU per `npm test` (npm plus tsx) and it would not cover `npx vitest run`. Why
// before the tests rather than inside surface.test.ts alone: the build (~15 s of CPU) would then race
// the timing-bound tests (fault-matrix) for the 2 cores. A run of other files only (`npx vitest run
// test/client.test.ts`) skips it: nobody waits for a build they do not use.
import type { TestProject } from 'vitest/node';
import { ensureBuilt } from '../../scripts/package-entries';

const USES_DIST = ['test/surface.test.ts', 'test/edge.test.ts'];

export default async function setup(project: TestProject): Promise<void> {
  // vitest's file filters (substrings of paths); not public API, hence the fallback: no filter seen
  // means the whole suite. surface.test.ts checks again itself, so a wrong guess costs time, not truth.
  const filters = (project.vitest as unknown as { filenamePattern?: string[] }).filenamePattern;
  if (filters?.length && !filters.some((f) => USES_DIST.some((u) => u.includes(f)) || f.includes('surface') || f.includes('edge'))) return;
  const done = await ensureBuilt();
  if (done !== 'dist is up to date') console.log(`[globalSetup] ${done}`);
}
