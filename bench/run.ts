// `npm run bench` (`-- --quick` for a short smoke run): every figure of the benchmark issue, measured
// in one run and printed as a table against its target. Results are also written to .tmp/bench.json.
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { burstBench } from './burst';
import { httpBench } from './http';
import { refreshAheadBench } from './refresh-ahead';
import { child, quick, stop } from './lib';

const cpu = os.cpus()[0]?.model ?? 'unknown cpu';
console.log(`ecom9-gate benchmarks${quick ? ' (quick)' : ''}: ${os.cpus().length} cores, ${cpu}, Node ${process.version}`);

const emu = await child('./emulator-proc.ts', { BENCH_CREDITS: '1000000000' });
const emuInfo = { url: emu.info.url as string, apiKey: emu.info.apiKey as string };

console.log('HTTP, warm cache, 50 connections (autocannon):');
const http = await httpBench(emuInfo);
console.log('core:');
const coreProc = await child('./core-proc.ts', { EMU_URL: emuInfo.url, EMU_KEY: emuInfo.apiKey }, ['--expose-gc']);
await stop(coreProc.proc);
const core = coreProc.info as unknown as Record<
  'lruNs' | 'checkTierNs' | 'peekNs' | 'awaitFloorNs' | 'checkTierRatio' | 'peekRatio' | 'checkTierBeyondAwaitRatio',
  number
> & {
  web: Record<
    | 'fetchNs'
    | 'fetchByHandNs'
    | 'fetchRatio'
    | 'honoNs'
    | 'honoByHandNs'
    | 'honoRatio'
    | 'fetchMeterNs'
    | 'fetchMeterByHandNs'
    | 'fetchMeterRatio'
    | 'honoMeterNs'
    | 'honoMeterByHandNs'
    | 'honoMeterRatio',
    number
  >;
};
const nestProc = await child('./nest-guard.ts', { EMU_URL: emuInfo.url, EMU_KEY: emuInfo.apiKey });
await stop(nestProc.proc);
const nest = nestProc.info as unknown as Record<'requireTierNs' | 'handGuardNs' | 'ratio', number>;
const otelProc = await child('./otel-proc.ts', { EMU_URL: emuInfo.url, EMU_KEY: emuInfo.apiKey }, ['--expose-gc']);
await stop(otelProc.proc);
const otel = otelProc.info as unknown as Record<'peekNs' | 'instrumentedPeekNs' | 'instrumentedAddsNs' | 'hookAddsNs' | 'noiseNs', number>;
const holdsProc = await child('./holds.ts', { EMU_URL: emuInfo.url, EMU_KEY: emuInfo.apiKey });
await stop(holdsProc.proc);
const holds = holdsProc.info as unknown as Record<
  'requests' | 'holdCallsPerRequest' | 'chargeCallsPerRequest' | 'balanceReads' | 'seconds' | 'holdCpuUs' | 'chargeCpuUs' | 'cpuRatio',
  number
>;
await stop(emu.proc);
console.log(
  `  holds: reserveCredits + use + settle ${holds.holdCpuUs.toFixed(0)} µs CPU and ${holds.holdCallsPerRequest} upstream call(s) per request (plus ${holds.balanceReads} balance read(s) in ${holds.seconds.toFixed(1)} s); chargeCredits' debit ${holds.chargeCpuUs.toFixed(0)} µs and ${holds.chargeCallsPerRequest}`,
);
console.log(
  `  instrumentGate: warm peek ${otel.peekNs.toFixed(1)} ns plain, ${otel.instrumentedPeekNs.toFixed(1)} ns instrumented; the decision hook alone (nobody listening) ${otel.hookAddsNs.toFixed(1)} ns; noise ±${otel.noiseNs.toFixed(1)} ns`,
);
console.log(
  `  nest: warm @RequireTier canActivate ${nest.requireTierNs.toFixed(1)} ns, hand-written guard (one LRUCache.get) ${nest.handGuardNs.toFixed(1)} ns`,
);
console.log(
  `  LRUCache.get ${core.lruNs.toFixed(1)} ns, prepared peek ${core.peekNs.toFixed(1)} ns, await gate.checkTier ${core.checkTierNs.toFixed(1)} ns (awaiting a settled promise alone: ${core.awaitFloorNs.toFixed(1)} ns)`,
);
const w = core.web;
console.log(
  `  fetch requireTier ${w.fetchNs.toFixed(0)} ns vs a hand-written LRUCache.get wrapper ${w.fetchByHandNs.toFixed(0)} ns; Hono requireTier ${w.honoNs.toFixed(0)} ns vs a hand-written middleware ${w.honoByHandNs.toFixed(0)} ns`,
);
console.log(
  `  meterUsage on @hono/node-server, per request to its close: fetch ${w.fetchMeterNs.toFixed(0)} ns vs a hand-written close-listener meter ${w.fetchMeterByHandNs.toFixed(0)} ns; Hono ${w.honoMeterNs.toFixed(0)} ns vs ${w.honoMeterByHandNs.toFixed(0)} ns`,
);
console.log('cold burst:');
const burst = await burstBench();
console.log(`  ${burst.requests} concurrent requests, ${burst.ok} allowed, ${burst.upstreamCalls} upstream call(s)`);
console.log('refresh ahead (ecom9 held 100 ms, facts expiring every 2 s):');
const refresh = await refreshAheadBench();
for (const [n, r] of Object.entries(refresh.routes)) {
  console.log(`  ${n}: p50 ${r.p50.toFixed(2)} ms, p99 ${r.p99.toFixed(2)} ms, max ${r.max.toFixed(1)} ms, ${r.upstreamCalls} upstream calls`);
}
console.log('memory:');
const accounts = quick ? 20_000 : 100_000;
const memEmu = await child('./emulator-proc.ts', { BENCH_ACCOUNTS: String(accounts + 1) });
const mem = await child('./memory.ts', { EMU_URL: memEmu.info.url as string, EMU_KEY: memEmu.info.apiKey as string, ACCOUNTS: String(accounts) }, [
  '--expose-gc',
]);
await stop(mem.proc);
await stop(memEmu.proc);
console.log(`  ${mem.info.accounts} accounts cached: ${mem.info.bytesPerDecision} bytes per cached decision`);

const target: Record<string, number> = { express: 0.97, koa: 0.95, fastify: 0.9, hono: 0.9, fetch: 0.9 };
const rows: Array<[string, string, string, boolean]> = [];
for (const r of http) {
  if (r.route === 'noop') {
    rows.push([`${r.framework} any no-op middleware / bare (reference)`, r.ratio.toFixed(3), '-', true]);
    continue;
  }
  const lost = r.eventsLost ?? 0;
  // On @hono/node-server the metered route's target is the no-op layer's noise, measured in the same
  // rounds (one Hono or fetch layer costs more than the gate's work): inside its spread, or ≥ 0.9.
  if (r.route === 'meter' && r.noop && (r.framework === 'hono' || r.framework === 'fetch')) {
    const n = r.noop;
    rows.push([
      `${r.framework} meterUsage / bare (no-op in the same rounds: median ${n.ratio.toFixed(3)}, ${n.min.toFixed(3)}-${n.max.toFixed(3)}; meter / no-op ${n.vsNoop.toFixed(3)})`,
      `${r.ratio.toFixed(3)}, ${lost} lost`,
      '≥ the no-op low (goal ≥ 0.9), 0 lost',
      (r.ratio >= n.min || r.ratio >= 0.9) && lost === 0,
    ]);
    continue;
  }
  const goal = r.route === 'meter' ? 0.95 : (target[r.framework] as number);
  rows.push([
    `${r.framework} ${r.route === 'meter' ? 'meterUsage' : r.route === 'tier' ? "requireTier('pro')" : 'requireEntitlement'} / bare`,
    `${r.ratio.toFixed(3)}${r.eventsLost !== undefined ? `, ${lost} lost` : ''}`,
    `≥ ${goal}${r.eventsLost !== undefined ? ', 0 lost' : ''}`,
    r.ratio >= goal && lost === 0,
  ]);
}
rows.push(['cold burst: upstream calls for 1,000 concurrent requests', String(burst.upstreamCalls), '= 1', burst.upstreamCalls === 1]);
rows.push([
  `memory: bytes per cached decision (${mem.info.accounts} accounts)`,
  String(mem.info.bytesPerDecision),
  '≤ 512',
  Number(mem.info.bytesPerDecision) <= 512,
]);
rows.push([
  'refresh ahead: p99 of a route whose facts expire, less the warm p99 (ms; ecom9 held 100 ms)',
  `${(refresh.routes.ahead.p99 - refresh.routes.warm.p99).toFixed(2)} (off: ${(refresh.routes.off.p99 - refresh.routes.warm.p99).toFixed(1)})`,
  '≤ 1',
  refresh.routes.ahead.p99 - refresh.routes.warm.p99 <= 1,
]);
rows.push(['core: warm check (prepared peek, what the middlewares run) / LRUCache.get', core.peekRatio.toFixed(2), '≤ 3', core.peekRatio <= 3]);
rows.push(['core: await gate.checkTier / LRUCache.get', core.checkTierRatio.toFixed(2), '≤ 3', core.checkTierRatio <= 3]);
rows.push(['fetch: warm requireTier / a hand-written wrapper doing one LRUCache.get', w.fetchRatio.toFixed(2), '≤ 3', w.fetchRatio <= 3]);
rows.push(['hono: warm requireTier / a hand-written middleware doing one LRUCache.get', w.honoRatio.toFixed(2), '≤ 3', w.honoRatio <= 3]);
rows.push([
  `fetch: meterUsage on @hono/node-server / a hand-written close-listener meter (per call: ${w.fetchMeterNs.toFixed(0)} / ${w.fetchMeterByHandNs.toFixed(0)} ns)`,
  w.fetchMeterRatio.toFixed(2),
  '-',
  true,
]);
rows.push([
  `hono: meterUsage on @hono/node-server / a hand-written close-listener meter (per call: ${w.honoMeterNs.toFixed(0)} / ${w.honoMeterByHandNs.toFixed(0)} ns)`,
  w.honoMeterRatio.toFixed(2),
  '-',
  true,
]);
rows.push([
  'core: await gate.checkTier less the await of a settled promise / LRUCache.get',
  core.checkTierBeyondAwaitRatio.toFixed(2),
  '≤ 3',
  core.checkTierBeyondAwaitRatio <= 3,
]);
rows.push(['holds: upstream calls per hold + settle, warm account (the debit)', String(holds.holdCallsPerRequest), '≤ 1', holds.holdCallsPerRequest <= 1]);
rows.push(['holds: CPU per hold + use + settle / per chargeCredits debit', holds.cpuRatio.toFixed(2), '-', true]);
rows.push(['nest: warm @RequireTier / hand-written guard with one LRUCache.get (canActivate)', nest.ratio.toFixed(2), '-', true]);
rows.push(['otel: ns a warm check gains when instrumented', otel.instrumentedAddsNs.toFixed(1), '≤ +50', otel.instrumentedAddsNs <= 50]);
rows.push([
  `otel: ns a warm check pays, not instrumented (noise ±${otel.noiseNs.toFixed(1)})`,
  otel.hookAddsNs.toFixed(1),
  '0 within noise',
  otel.hookAddsNs <= Math.max(otel.noiseNs, 2),
]);

console.log('\n| figure | measured | target | met |\n| --- | --- | --- | --- |');
for (const [name, got, goal, met] of rows) console.log(`| ${name} | ${got} | ${goal} | ${met ? 'yes' : 'NO'} |`);
mkdirSync('.tmp', { recursive: true });
writeFileSync(
  '.tmp/bench.json',
  JSON.stringify({ cpu, cores: os.cpus().length, node: process.version, quick, http, core, nest, otel, holds, burst, refresh, memory: mem.info }, null, 2),
);
