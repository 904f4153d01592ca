// In a project with the tarball and no framework installed: `ecom9-gate` and `ecom9-gate/emulator` load
// as CJS, and every package they require at run time is one of their own dependencies.
const assert = require('node:assert/strict');
const Module = require('node:module');

const pkgs = new Set();
const load = Module._load;
Module._load = function (request, ...rest) {
  if (!/^[./]/.test(request) && !Module.isBuiltin(request)) {
    const parts = request.split('/');
    pkgs.add(request.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]);
  }
  return load.call(this, request, ...rest);
};
assert.equal(typeof require('ecom9-gate').createGate, 'function');
assert.equal(typeof require('ecom9-gate/emulator').createEmulator, 'function');
// A bundled `import('x')` becomes a require one microtask later: look after the loads have settled.
setImmediate(() => {
  Module._load = load;
  assert.deepEqual(
    [...pkgs].filter((p) => !['ecom9-gate', '#undici-pool', '@noble/hashes', 'lru-cache', 'undici', 'zod'].includes(p)),
    [],
    'CJS: loaded a package besides its own deps',
  );
  console.log(`bare cjs: ok (packages loaded: ${[...pkgs].sort().join(', ')})`);
});
