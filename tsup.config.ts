// One build for every public subpath. CJS splitting is on so that all CJS entries share one copy of
// the core: one cache per gate, and `instanceof Ecom9Error` holds across subpaths.
import { copyFile } from 'node:fs/promises';
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
    // Resolved by package.json "imports" conditions when the package is loaded: undici on Node only.
    '#undici-pool',
    'ai',
    /^@modelcontextprotocol\/sdk(\/|$)/,
  ],
};

// Every Node subpath; one a line so that branches adding one merge cleanly.
const nodeEntries = {
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
  ai: 'src/ai/index.ts',
  mcp: 'src/mcp/index.ts',
};

// The two targets of the "#undici-pool" import condition (package.json "imports"): no types, no API.
const poolEntries = {
  'undici-pool': 'src/client/undici-pool.ts',
  'no-undici-pool': 'src/client/no-undici-pool.ts',
};

export default defineConfig([
  {
    ...shared,
    entry: { ...nodeEntries, ...poolEntries },
    format: ['esm', 'cjs'],
    // Members marked @internal (the adapters' paths into the gate) stay out of the published types.
    // ecom9-gate/react's types are made here too: this type build first clears every .d.ts in dist.
    dts: { entry: { ...nodeEntries, react: 'src/react/index.ts' }, compilerOptions: { stripInternal: true } },
    splitting: true,
    // The configs build in parallel: spare the bin's and react's output, whichever finishes first.
    clean: ['!emulator-bin.js', '!emulator-bin.js.map', '!react.*'],
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
  // ecom9-gate/react is browser code: its own bundle (no chunk shared with the Node core, so no
  // node: import reaches it), React and TanStack Query left to the app.
  {
    entry: { react: 'src/react/index.ts' },
    format: ['esm', 'cjs'],
    platform: 'browser',
    target: 'es2020',
    sourcemap: true,
    dts: false, // made by the first config (see there)
    splitting: false,
    clean: false,
    external: ['react', 'react-dom', '@tanstack/react-query'],
    // The optional stylesheet (ecom9-gate/react/styles.css) ships as written: plain CSS, nothing to build.
    onSuccess: () => copyFile('src/react/styles.css', 'dist/react.css'),
  },
]);
