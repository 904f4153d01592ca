// Tests run against the TypeScript sources; the public subpaths resolve to them, as in tsconfig.
import { fileURLToPath } from 'node:url';
import { configDefaults, defineConfig } from 'vitest/config';

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));

export default defineConfig({
  resolve: {
    alias: [
      { find: /^ecom9-gate\/express$/, replacement: here('./adapters/express.ts') },
      { find: /^ecom9-gate\/koa$/, replacement: here('./adapters/koa.ts') },
      { find: /^ecom9-gate\/fastify$/, replacement: here('./adapters/fastify.ts') },
      { find: /^ecom9-gate\/emulator$/, replacement: here('./src/emulator/index.ts') },
      { find: /^ecom9-gate\/redis$/, replacement: here('./src/redis/index.ts') },
      { find: /^ecom9-gate\/nest$/, replacement: here('./adapters/nest.ts') },
      { find: /^ecom9-gate\/testing$/, replacement: here('./src/testing/index.ts') },
      { find: /^ecom9-gate\/react$/, replacement: here('./src/react/index.ts') },
      { find: /^ecom9-gate\/fetch$/, replacement: here('./adapters/fetch.ts') },
      { find: /^ecom9-gate\/hono$/, replacement: here('./adapters/hono.ts') },
      { find: /^ecom9-gate\/otel$/, replacement: here('./src/otel/index.ts') },
      { find: /^ecom9-gate\/ai$/, replacement: here('./src/ai/index.ts') },
      { find: /^ecom9-gate\/mcp$/, replacement: here('./src/mcp/index.ts') },
      { find: /^ecom9-gate$/, replacement: here('./src/index.ts') },
      // package.json "imports": on Node, undici's pool.
      { find: /^#undici-pool$/, replacement: here('./src/client/undici-pool.ts') },
    ],
  },
  test: {
    include: ['test/**/*.test.ts', 'examples/**/*.test.ts'],
    // expectTypeOf does nothing at run time: the type test runs under tsc only, so it can fail.
    exclude: [...configDefaults.exclude, 'test/types.test.ts'],
    typecheck: { enabled: true, include: ['test/types.test.ts'], tsconfig: './test/tsconfig.types.json' },
    // Builds dist/ first when it is stale and test/surface.test.ts (the built package's test) will run.
    globalSetup: ['./test/support/build-dist.ts'],
    testTimeout: 20_000,
    hookTimeout: 20_000,
    pool: 'forks',
  },
});
