// Per framework: the bare route against the same route behind requireTier, requireEntitlement and
// meterUsage on a warm cache, alternating sides, median ratio of the rounds (meterUsage with the no-op
// route in the same rounds, its noise). Afterwards, every metered request must have become exactly one
// usage event.
import { createClient } from '../src/client/index';
import { child, compare, compareWithReference, load, quick, stop } from './lib';
import { ensureBuilt } from '../scripts/package-entries';

export interface HttpResult {
  framework: string;
  route: string;
  bareRps: number;
  gatedRps: number;
  ratio: number;
  errors: number;
  eventsLost?: number;
  eventsQueued?: number;
  /** meterUsage only: the no-op route measured in the same rounds, its median ratio and spread, and meter / no-op. */
  noop?: { ratio: number; min: number; max: number; vsNoop: number };
  /** meterUsage only: the server's CPU per request (µs, median of the rounds) on the bare, no-op and metered routes. */
  cpuUs?: { bare: number; noop: number; meter: number };
}

export async function httpBench(
  emu: { url: string; apiKey: string },
  routes = ['noop', 'tier', 'ent', 'meter'],
  frameworks = ['express', 'koa', 'fastify', 'hono', 'fetch'],
): Promise<HttpResult[]> {
  // Express's own run-to-run noise is a few per cent: five rounds of 2 s, median of the ratios.
  const seconds = quick ? 1 : 2;
  const rounds = quick ? 3 : 5;
  // The servers run the build (bench/code.ts) unless BENCH_CODE=src: it is made first when stale.
  const code = process.env.BENCH_CODE === 'src' ? 'src' : 'dist';
  if (code === 'dist') await ensureBuilt();
  console.log(`  (servers run ${code === 'src' ? 'the TypeScript source under tsx' : 'the build, dist/'}; BENCH_CODE=src for the source)`);
  const client = createClient({ apiKey: emu.apiKey, baseUrl: emu.url });
  const results: HttpResult[] = [];
  for (const framework of frameworks) {
    const { proc, info } = await child('./server.ts', { FRAMEWORK: framework, EMU_URL: emu.url, EMU_KEY: emu.apiKey });
    const url = info.url as string;
    const h = { 'x-account': 'acme' };
    // A short warm-up so the JIT has seen the bare and the gated paths before anything is measured.
    await load(`${url}/bare`, 1, h);
    await load(`${url}/tier`, 1, h);
    for (const route of routes) {
      // Each measured route warmed too (before the usage counts are read): measured cold, a route's
      // first round paid the JIT's warm-up, which the bare route (warmed above) never did.
      await load(`${url}/${route}`, 1, h);
      if (route === 'meter') await load(`${url}/noop`, 1, h);
      const summary = async () => (await client.usage.summary({ accountRefId: 'acme', productCode: 'api-access', meterCode: 'api_calls' })).total_usage;
      // The control endpoint flushes: it answers once every queued event is delivered, with the stats.
      const flush = async () => (await (await fetch(info.control as string)).json()) as { usageQueued: number; usageFailed: number; usageDropped: number };
      // The warm-up's events delivered first, so the counts below see only the measured rounds'.
      if (route === 'meter') await flush();
      const usageBefore = route === 'meter' ? await summary() : 0;
      const queuedBefore = route === 'meter' ? (await flush()).usageQueued : 0;
      const bare = () => load(`${url}/bare`, seconds, h, proc.pid);
      const gated = () => load(`${url}/${route}`, seconds, h, proc.pid);
      // meterUsage's target is the no-op layer's noise: the no-op route runs in the same rounds, in
      // every order (six rounds, each order once).
      const withNoop =
        route === 'meter' ? await compareWithReference(bare, gated, () => load(`${url}/noop`, seconds, h, proc.pid), quick ? 3 : 6, flush) : undefined;
      const r = withNoop ?? (await compare(bare, gated, rounds));
      const result: HttpResult = { framework, route, bareRps: r.a, gatedRps: r.b, ratio: r.ratio, errors: r.errors };
      if (withNoop) {
        result.noop = { ratio: withNoop.refRatio, min: withNoop.refMin, max: withNoop.refMax, vsNoop: withNoop.vsRef };
        if (withNoop.cpuUs) result.cpuUs = { bare: withNoop.cpuUs.a, noop: withNoop.cpuUs.r, meter: withNoop.cpuUs.b };
      }
      if (route === 'meter') {
        const stats = await flush();
        const queued = stats.usageQueued - queuedBefore;
        const delivered = (await summary()) - usageBefore;
        // Every successful metered response queued one event (autocannon's count misses the few in
        // flight when a run stops), and every queued event reached ecom9.
        result.eventsLost = queued - delivered + stats.usageFailed + stats.usageDropped;
        result.eventsQueued = queued;
        if (queued < r.okB) result.eventsLost += r.okB - queued;
      }
      results.push(result);
      console.log(
        `  ${framework.padEnd(8)} ${route.padEnd(6)} bare ${r.a.toFixed(0).padStart(6)} req/s, gated ${r.b.toFixed(0).padStart(6)} req/s, ratio ${r.ratio.toFixed(3)}${result.eventsLost !== undefined ? `, events lost ${result.eventsLost}` : ''}${result.noop ? `; no-op in the same rounds ${result.noop.ratio.toFixed(3)} (${result.noop.min.toFixed(3)}-${result.noop.max.toFixed(3)}), meter / no-op ${result.noop.vsNoop.toFixed(3)}` : ''}${result.cpuUs ? `; server CPU per request bare / no-op / meter ${result.cpuUs.bare.toFixed(1)} / ${result.cpuUs.noop.toFixed(1)} / ${result.cpuUs.meter.toFixed(1)} µs` : ''}`,
      );
    }
    await stop(proc);
  }
  await client.close();
  return results;
}
