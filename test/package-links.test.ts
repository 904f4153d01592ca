// The docs reach npm users: every relative link in the Markdown the package ships (README.md, docs/)
// resolves inside the package, anchors included. The file list is npm's own (`npm pack --dry-run`);
// scripts/package-smoke.sh runs the same check on the real tarball.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { brokenLinks } from '../scripts/package-links';

const root = fileURLToPath(new URL('..', import.meta.url));

describe('the packed package', () => {
  it('ships what its README links to', { timeout: 60_000 }, () => {
    const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: root, encoding: 'utf8' });
    const files = (JSON.parse(out) as Array<{ files: Array<{ path: string }> }>)[0]?.files.map((f) => f.path) ?? [];
    expect(files).toEqual(expect.arrayContaining(['README.md', 'docs/options.md', 'docs/errors.md']));
    expect(brokenLinks(files, (f) => readFileSync(`${root}${f}`, 'utf8'))).toEqual([]);
  });
});
