// The browser tests' setup: Debian's chromium driven by playwright-core, axe-core injected into a page,
// and where screenshots for docs/ go. Without chromium (on PATH, or CHROMIUM_PATH) a test file is skipped (saying so); in
// CI (CI=true, where .ci/run installs it) a missing browser fails the run instead.
import { existsSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { delimiter, join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';

// Found as .ci/run finds it (`command -v chromium`: the first on PATH), or at CHROMIUM_PATH.
const onPath = (name: string): string | undefined =>
  (process.env.PATH ?? '')
    .split(delimiter)
    .filter(Boolean)
    .map((dir) => join(dir, name))
    .find((file) => existsSync(file));
const CHROMIUM = process.env.CHROMIUM_PATH ?? onPath('chromium') ?? '/usr/bin/chromium';

/** Is there a browser to run `file`'s tests in? */
export function haveChromium(file: string): boolean {
  if (existsSync(CHROMIUM)) return true;
  if (process.env.CI) throw new Error(`${file}: no browser at ${CHROMIUM} in CI (apt-get install -y chromium)`);
  console.warn(`${file} skipped: no browser at ${CHROMIUM} (apt-get install -y chromium)`);
  return false;
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
}

/** docs/, where the browser tests save the screenshots the docs show. */
export function docsDir(): string {
  const dir = fileURLToPath(new URL('../../docs/', import.meta.url));
  mkdirSync(dir, { recursive: true });
  return dir;
}

const axeSource = createRequire(import.meta.url).resolve('axe-core/axe.min.js');

export interface AxeViolation {
  id: string;
  impact: string | null | undefined;
  help: string;
  targets: string[];
}

/** axe-core's serious and critical violations in the page (or under `selector`): what a test expects to be none. */
export async function seriousAxeViolations(page: Page, selector?: string): Promise<AxeViolation[]> {
  if (!(await page.evaluate(() => 'axe' in globalThis))) await page.addScriptTag({ path: axeSource });
  const all = await page.evaluate(async (sel) => {
    const axe = (
      globalThis as unknown as {
        axe: { run(ctx?: unknown): Promise<{ violations: Array<{ id: string; impact?: string | null; help: string; nodes: Array<{ target: unknown[] }> }> }> };
      }
    ).axe;
    const r = await (sel ? axe.run(sel) : axe.run());
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, targets: v.nodes.map((n) => String(n.target.join(' '))) }));
  }, selector);
  return all.filter((v) => v.impact === 'serious' || v.impact === 'critical');
}
