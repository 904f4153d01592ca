// One build for every public subpath. CJS splitting is on so that all CJS entries share one copy of
// the core: one cache per gate, and `instanceof Ecom9Error` holds across subpaths.
import { defineConfig } from 'tsup';

export default defineConfig({
  entry: {
    index: 'src/index.ts',
    express: 'adapters/express.ts',
    koa: 'adapters/koa.ts',
    fastify: 'adapters/fastify.ts',
    emulator: 'src/emulator/index.ts',
    'emulator-bin': 'src/emulator/bin.ts',
    redis: 'src/redis/index.ts',
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
