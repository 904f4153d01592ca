// Every relative link of the packed package's Markdown (README.md and what it ships under docs/)
// must lead to a file inside the package, and a #fragment to a heading of that file: a user reading
// them in node_modules (or on the registry) otherwise finds nothing. Used by scripts/package-smoke.sh
// on the real tarball (`tsx scripts/package-links.ts pkg.tgz`) and by test/package-links.test.ts.
import { execFileSync } from 'node:child_process';
import path from 'node:path';

/** GitHub's heading anchor: lower case, punctuation dropped, spaces to hyphens. */
export function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[`*_]/g, '')
    .replace(/[^\p{L}\p{N} -]/gu, '')
    .replace(/ /g, '-');
}

/** The links that lead nowhere, as `file: target`, given the packed files and a reader of their text. */
export function brokenLinks(files: readonly string[], read: (file: string) => string): string[] {
  const packed = new Set(files.map((f) => path.posix.normalize(f)));
  const bad: string[] = [];
  for (const file of packed) {
    if (!file.endsWith('.md')) continue;
    const text = read(file).replace(/^```[\s\S]*?^```/gm, '');
    for (const m of text.matchAll(/\]\(([^)\s]+)\)/g)) {
      const target = m[1] as string;
      if (/^[a-z]+:/i.test(target)) continue;
      const [where = '', fragment] = target.split('#');
      const resolved = where === '' ? file : path.posix.normalize(path.posix.join(path.posix.dirname(file), where));
      if (!packed.has(resolved)) {
        bad.push(`${file}: ${target} (not in the package)`);
        continue;
      }
      if (fragment && resolved.endsWith('.md')) {
        const headings = [...read(resolved).matchAll(/^#{1,6} (.+)$/gm)].map((h) => slug(h[1] as string));
        if (!headings.includes(fragment)) bad.push(`${file}: ${target} (no such heading)`);
      }
    }
  }
  return bad;
}

/** The files of a packed tarball, relative to its root. */
function tarballFiles(tgz: string): string[] {
  return execFileSync('tar', ['tzf', tgz], { encoding: 'utf8' })
    .split('\n')
    .filter((l) => l.startsWith('package/') && !l.endsWith('/'))
    .map((l) => l.slice('package/'.length));
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(new URL(import.meta.url).pathname)) {
  const tgz = process.argv[2];
  if (!tgz) throw new Error('usage: tsx scripts/package-links.ts <package.tgz>');
  const files = tarballFiles(tgz);
  const bad = brokenLinks(files, (f) => execFileSync('tar', ['xzOf', tgz, `package/${f}`], { encoding: 'utf8' }));
  if (bad.length > 0) {
    console.error(`links that lead nowhere in the packed package:\n  ${bad.join('\n  ')}`);
    process.exit(1);
  }
  console.log(`package links: ${files.filter((f) => f.endsWith('.md')).length} Markdown files, every relative link resolves`);
}
