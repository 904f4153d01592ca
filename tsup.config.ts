// One build for every public subpath. CJS splitting is on so that all CJS entries share one copy of
// the core: one cache per gate, and `instanceof Ecom9Error` holds across subpaths.
import { defineConfig, type Options } from 'tsup';

const shared: Options = {
  sourcemap: true,
  target: 'node20',
  platform: 'node',
  // Peer dependencies, never bundled; one a line so that branches adding one merge cleanly.
  // biome-ignore format: one a line
  external: [
    'express',
    'koa',
    'fastify',
    'fastify-plugin',
    'ioredis',
    /^hono(\/|$)/,
    /^@nestjs\//,
    'reflect-metadata',
    'rxjs',
    '@opentelemetry/api',
  ],
};

export default defineConfig([
  {
    ...shared,
    entry: {
      index: 'src/index.ts',
      express: 'adapters/express.ts',
      koa: 'adapters/koa.ts',
      fastify: 'adapters/fastify.ts',
      emulator: 'src/emulator/index.ts',
      redis: 'src/redis/index.ts',
      nest: 'adapters/nest.ts',
      testing: 'src/testing/index.ts',
      fetch: 'adapters/fetch.ts',
      hono: 'adapters/hono.ts',
      otel: 'src/otel/index.ts',
    },
    format: ['esm', 'cjs'],
    // Members marked @internal (the adapters' paths into the gate) stay out of the published types.
    dts: { compilerOptions: { stripInternal: true } },
    splitting: true,
    // The configs build in parallel: spare the bin's output, whichever finishes first.
    clean: ['!emulator-bin.js', '!emulator-bin.js.map'],
  },
  // The bin uses top-level await, which CJS cannot hold (the .cjs it used to ship crashed): ESM only,
  // no types (nothing imports it). It bundles its own copy of the emulator.
  {
    ...shared,
    entry: { 'emulator-bin': 'src/emulator/bin.ts' },
    format: ['esm'],
    dts: false,
    splitting: false,
    clean: false,
  },
]);
