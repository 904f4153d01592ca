// One build for every public subpath. CJS splitting is on so that all CJS entries share one copy of
// the core: one cache per gate, and `instanceof Ecom9Error` holds across subpaths.
import { defineConfig } from 'tsup';

export default defineConfig({
  entry: {
    index: 'src/index.ts',
    emulator: 'src/emulator/index.ts',
    'emulator-bin': 'src/emulator/bin.ts',
  },
  format: ['esm', 'cjs'],
  dts: true,
  splitting: true,
  sourcemap: true,
  clean: true,
  target: 'node20',
  platform: 'node',
  external: ['express', 'koa', 'fastify', 'fastify-plugin', 'ioredis'],
});
