// The Cloudflare example as a user deploys it: bundled by esbuild the way wrangler does (conditions
// workerd, worker, browser; the built package found through its package.json, never our sources), then
// served by workerd inside Miniflare on a loopback port, with or without nodejs_compat.
import { builtinModules } from 'node:module';
import { build, type Plugin } from 'esbuild';
import { Miniflare } from 'miniflare';
import { ROOT } from './runtimes';

/** Before 2026-05: on Node 20, npm installs a 2026-04 workerd, which refuses later dates. */
export const COMPATIBILITY_DATE = '2026-04-01';

// With nodejs_compat, as wrangler does: Node built-ins stay imports of the runtime's own (`node:` names),
// and CommonJS code (ioredis) gets a require that reaches them.
const BUILTIN = new RegExp(`^(node:)?(${builtinModules.map((m) => m.replace(/[/]/g, '\\/')).join('|')})$`);
const nodeBuiltins: Plugin = {
  name: 'node-builtins',
  setup(b) {
    b.onResolve({ filter: BUILTIN }, (args) => ({ path: args.path.startsWith('node:') ? args.path : `node:${args.path}`, external: true }));
  },
};
const REQUIRE_BANNER = "import { createRequire as __cr } from 'node:module'; const require = __cr('/');";

/** The Worker's single module: examples/cloudflare/worker.ts with the built ecom9-gate and Hono inside. */
export async function bundleWorker(entry = `${ROOT}examples/cloudflare/worker.ts`, nodeCompat = false): Promise<string> {
  const out = await build({
    entryPoints: [entry],
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'neutral',
    conditions: ['workerd', 'worker', 'browser'],
    mainFields: ['module', 'main'],
    target: 'es2022',
    // The example's own tsconfig: no `paths` to our sources, so `ecom9-gate` is the built package.
    tsconfig: `${ROOT}examples/cloudflare/tsconfig.json`,
    logLevel: 'silent',
    ...(nodeCompat ? { plugins: [nodeBuiltins], banner: { js: REQUIRE_BANNER } } : {}),
  });
  return out.outputFiles[0]?.text ?? '';
}

export interface WorkerServer {
  url: string;
  close(): Promise<void>;
}

/** Serves the bundled Worker over HTTP on a free loopback port, its env bindings given. */
export async function serveWorker(script: string, flags: string[], bindings: Record<string, string>): Promise<WorkerServer> {
  const mf = new Miniflare({
    modules: true,
    script,
    compatibilityDate: COMPATIBILITY_DATE,
    compatibilityFlags: flags,
    bindings,
    host: '127.0.0.1',
    port: 0,
  });
  const url = (await mf.ready).toString().replace(/\/$/, '');
  return { url, close: () => mf.dispose() };
}
