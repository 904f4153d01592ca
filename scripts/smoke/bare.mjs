// In a project with the tarball and no framework installed: `ecom9-gate` and `ecom9-gate/emulator` load
// as ESM, and what they import at run time (static or dynamic) is only their own dependencies.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { register } from 'node:module';

const log = new URL('./resolved.log', import.meta.url);
writeFileSync(log, '');
register('./resolve-log.mjs', import.meta.url, { data: { log: log.href } });
const core = await import('ecom9-gate');
const emulator = await import('ecom9-gate/emulator');
assert.equal(typeof core.createGate, 'function');
assert.equal(typeof emulator.createEmulator, 'function');

const pkgs = new Set(readFileSync(log, 'utf8').split('\n').filter(Boolean));
assert.deepEqual(
  [...pkgs].filter((p) => !['ecom9-gate', '#undici-pool', '@noble/hashes', 'lru-cache', 'undici', 'zod'].includes(p)),
  [],
  'ESM: loaded a package besides its own deps',
);
console.log(`bare esm: ok (packages loaded: ${[...pkgs].sort().join(', ')})`);
