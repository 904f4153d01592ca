// docs/testing.md shows these example files: each must stand in it as it is, so the page stays runnable.
import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';

const doc = readFileSync(new URL('../../docs/testing.md', import.meta.url), 'utf8');

it.each(['express', 'koa', 'fastify', 'hono'])('docs/testing.md holds examples/testing/%s.test.ts as it is', (name) => {
  const file = readFileSync(new URL(`./${name}.test.ts`, import.meta.url), 'utf8');
  expect(doc.includes(`\`\`\`ts\n${file}\`\`\``)).toBe(true);
});
