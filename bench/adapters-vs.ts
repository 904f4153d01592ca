// A warm requireTier per call on each of the six adapters (and meterUsage on Hono and fetch), against the same adapters of another
// checkout (BASE: a directory holding its adapters/ and src/, e.g. the previous commit exported with
// `git archive <rev> | tar -x -C .tmp/base`), interleaved round by round; prints ns per call and the
// median ratio (ours / base) per adapter. Each adapter runs in a process of its own, as in a server
// (one adapter per app, so the shared builder's call sites see one binding).
// Both trees are bundled as the build bundles them (BENCH_CODE=src: their source under tsx).
// `BASE=.tmp/base node --expose-gc --import tsx bench/adapters-vs.ts [--quick] [adapter]`.
import { spawnSync } from 'node:child_process';
import { EventEmitter } from 'node:events';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import * as esbuild from 'esbuild';
import { Context } from 'hono';
import { ExecutionContextHost } from '@nestjs/core/helpers/execution-context-host.js';
import { createEmulator } from '../src/emulator/index';
import { median, quick, timeAwaited, timeLoop } from './lib';

const N = quick ? 100_000 : 300_000;
const ROUNDS = quick ? 5 : 9;
const base = path.resolve(process.env.BASE ?? '.tmp/base');
const here = path.resolve(import.meta.dirname, '..');

type Call = () => unknown;

/** A Node response as @hono/node-server hands it on (`env.outgoing`): what onNodeFinished reads of it. */
class NodeOut extends EventEmitter {
  statusCode = 200;
  writableFinished = false;
}
type AnyFn = (...args: never[]) => unknown;

/**
 * A tree's core and adapters as the build makes them: bundled by esbuild (what tsup runs), without
 * tsx's keepNames, which wraps every function expression to define its name, once per closure made.
 * Under tsx a closure made per call costs far more than in what users run. BENCH_CODE=src loads the
 * TypeScript source through tsx instead.
 */
// biome-ignore lint/suspicious/noExplicitAny: two trees' modules, which no one type describes
async function built(root: string): Promise<Record<string, any>> {
  const files = {
    core: 'src/index.ts',
    express: 'adapters/express.ts',
    koa: 'adapters/koa.ts',
    fastify: 'adapters/fastify.ts',
    hono: 'adapters/hono.ts',
    fetch: 'adapters/fetch.ts',
    nest: 'adapters/nest/runtime.ts',
    decorators: 'adapters/nest/decorators.ts',
  };
  type Modules = Record<keyof typeof files, Record<string, unknown>>;
  let m: Modules;
  if (process.env.BENCH_CODE === 'src') {
    const load = (f: string) => import(pathToFileURL(path.join(root, f)).href) as Promise<Record<string, unknown>>;
    m = Object.fromEntries(await Promise.all(Object.entries(files).map(async ([k, f]) => [k, await load(f)] as const))) as Modules;
  } else {
    const outfile = path.join(here, '.tmp', 'adapters-vs', `${path.basename(root)}-${process.pid}.mjs`);
    const lines = Object.entries(files).map(([name, f]) => `export * as ${name} from ${JSON.stringify(path.join(root, f))};`);
    await esbuild.build({
      stdin: { contents: lines.join('\n'), resolveDir: root, loader: 'ts' },
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      outfile,
      // Dependencies and peers stay imports (one hono, one lru-cache for both trees), as tsup leaves them.
      packages: 'external',
      logLevel: 'error',
    });
    m = (await import(pathToFileURL(outfile).href)) as Modules;
  }
  return { ...m.core, ...m.express, ...m.koa, ...m.fastify, ...m.hono, ...m.fetch, nest: m.nest, ...m.decorators };
}

/** One tree's six warm calls: each builds a fresh request (as a server does) and runs the guard. */
async function callsOf(root: string, emu: { url: string; apiKey: string }): Promise<Record<string, Call>> {
  const { createGate, expressGate, koaGate, fastifyGate, honoGate, fetchGate, nest, RequireTier } = await built(root);
  const gate = createGate({ apiKey: emu.apiKey, baseUrl: emu.url, cache: { ttlMs: 3_600_000 }, logger: { warn: () => {} } });
  await gate.checkTier('acme', { tiers: 'pro' });
  const node = { 'x-account': 'acme' };
  const noop = () => {};
  const done = Promise.resolve();

  const e = expressGate(gate, { accountRefId: (req: { headers: typeof node }) => req.headers['x-account'] }).requireTier('pro');
  const k = koaGate(gate, { accountRefId: (ctx: { headers: typeof node }) => ctx.headers['x-account'] }).requireTier('pro');
  // The plugin decorates app.ecom9: a stand-in app takes the decoration.
  const app: Record<string, unknown> = { decorateRequest: noop, decorate: (n: string, v: unknown) => void (app[n] = v), addHook: noop, all: noop };
  await (fastifyGate as unknown as (a: unknown, o: unknown) => Promise<void>)(app, {
    gate,
    accountRefId: (req: { headers: typeof node }) => req.headers['x-account'],
  });
  const fy = (app.ecom9 as { requireTier(t: string): AnyFn }).requireTier('pro') as (...a: unknown[]) => void;
  const h = honoGate(gate, { accountRefId: (c: Context) => c.req.header('x-account') }).requireTier('pro');
  const headers = new Headers(node);
  const ok = new Response('ok');
  const f = fetchGate(gate, { accountRefId: (req: Request) => req.headers.get('x-account') }).requireTier('pro')(() => ok);
  class Controller {
    report() {
      return 'ok';
    }
  }
  RequireTier('pro')(Controller.prototype, 'report', Object.getOwnPropertyDescriptor(Controller.prototype, 'report') as PropertyDescriptor);
  // meterUsage on @hono/node-server: the Node response (a stand-in emitting 'close') says when it is finished.
  const meter = { product: 'api-access', meter: 'api_calls' };
  const hm = honoGate(gate, { accountRefId: (c: Context) => c.req.header('x-account') }).meterUsage(meter);
  const fm = fetchGate(gate, { accountRefId: (req: Request) => req.headers.get('x-account') }).meterUsage(meter)(() => ok);
  const closed = (out: NodeOut): void => {
    out.writableFinished = true;
    out.emit('close');
  };
  const guard = new nest.Ecom9Guard(new nest.Ecom9Runtime({ gate, accountRefId: (req: { headers: typeof node }) => req.headers['x-account'] }));
  return {
    express: () => e({ headers: node, method: 'GET', baseUrl: '', path: '/r', get: (n: string) => (node as Record<string, string>)[n] }, {}, noop),
    koa: () => k({ headers: node, state: {}, method: 'GET', path: '/r', get: (n: string) => (node as Record<string, string>)[n] ?? '' }, () => done),
    fastify: () => fy({ headers: node, method: 'GET', url: '/r', routeOptions: { url: '/r' }, ecom9: null }, {}, noop),
    hono: () => h(new Context({ url: 'http://127.0.0.1/r', method: 'GET', headers } as Request), () => done),
    fetch: () => f({ url: 'http://127.0.0.1/r', method: 'GET', headers } as Request),
    'hono-meter': async () => {
      const outgoing = new NodeOut();
      const c = new Context({ url: 'http://127.0.0.1/r', method: 'GET', headers } as Request, { env: { incoming: {}, outgoing } });
      await hm(c, () => done);
      closed(outgoing);
    },
    'fetch-meter': () => {
      const outgoing = new NodeOut();
      fm({ url: 'http://127.0.0.1/r', method: 'GET', headers } as Request, { incoming: {}, outgoing });
      closed(outgoing);
    },
    nest: () => {
      const ctx = new ExecutionContextHost([{ headers: node, method: 'GET', url: '/r' }, {}, noop], Controller, Controller.prototype.report);
      ctx.setType('http');
      return guard.canActivate(ctx);
    },
  };
}

const only = process.argv.slice(2).find((a) => !a.startsWith('--'));
// The -meter rows: meterUsage on Hono and fetch as served by @hono/node-server, per request, until recorded.
const ADAPTERS = ['express', 'koa', 'fastify', 'hono', 'fetch', 'nest', 'hono-meter', 'fetch-meter'];
if (only === undefined) {
  console.log(`per call, warm requireTier, ${ROUNDS} rounds of ${N} interleaved; base: ${path.relative(here, base) || base}`);
  for (const name of ADAPTERS) {
    const r = spawnSync(process.execPath, [...process.execArgv, import.meta.filename, ...process.argv.slice(2), name], { stdio: 'inherit' });
    if (r.status !== 0) process.exit(r.status ?? 1);
  }
  process.exit(0);
}

const emulator = createEmulator();
const url = await emulator.listen(0, '127.0.0.1');
const info = { url, apiKey: emulator.apiKey };
const ours = await callsOf(here, info);
const theirs = await callsOf(base, info);
const async = new Set(['koa', 'hono', 'hono-meter']); // their middleware answers a promise: awaited per call
const time = (fn: Call, name: string): Promise<number> =>
  async.has(name)
    ? timeAwaited(N, fn as () => Promise<unknown>)
    : Promise.resolve(
        timeLoop(N, () => {
          for (let i = 0; i < N; i++) fn();
        }),
      );
for (const name of [only]) {
  const a: number[] = [];
  const b: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    // Which side goes first flips every round.
    if (r % 2 === 0) {
      b.push(await time(theirs[name] as Call, name));
      a.push(await time(ours[name] as Call, name));
    } else {
      a.push(await time(ours[name] as Call, name));
      b.push(await time(theirs[name] as Call, name));
    }
  }
  const ratio = median(a.map((x, i) => x / (b[i] as number)));
  console.log(`  ${name.padEnd(8)} ours ${median(a).toFixed(1).padStart(7)} ns  base ${median(b).toFixed(1).padStart(7)} ns  ratio ${ratio.toFixed(3)}`);
}
await emulator.close();
process.exit(0);
