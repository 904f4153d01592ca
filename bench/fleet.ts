// The fleet sharing a Redis store: 8 processes take 1,000 concurrent cold tier checks spread over 100
// accounts (each account reaches all 8; each process runs its share at once, in itself), with and
// without the store; then a new process's first request
// for an account the fleet knows; then the same burst with Redis paused (SIGSTOP) and after it resumes.
// Prints upstream status calls, failures and p50/p99 per phase.
// Run: npm run bench:fleet   (needs redis-server; the store runs on a private one it can pause)
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import { createEmulator } from '../src/emulator/index';
import { startInstance, type Instance } from '../test/support/processes';
import { ensureRedis, privateRedis } from '../test/support/redis';

const PROCS = Number(process.env.PROCS ?? 8);
const REQUESTS = Number(process.env.REQUESTS ?? 1_000);
const ACCOUNTS = Number(process.env.ACCOUNTS ?? 100);
// ecom9 is not instant: each status call is held this long (real ecom9 answers in tens of ms).
const LATENCY_MS = Number(process.env.LATENCY_MS ?? 50);

const emu = createEmulator();
await emu.listen(0, '127.0.0.1');
emu.inject({ endpoint: 'accounts.status', kind: 'latency', ms: LATENCY_MS });

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number;
}

function accounts(tag: string): string[] {
  return Array.from({ length: ACCOUNTS }, (_, i) => {
    const acc = `${tag}-${i}-${randomUUID().slice(0, 8)}`;
    emu.setAccount(acc, { customerEmail: 'x@example.com', subscriptions: [{ subscription: 'studio-suite', tier: 'pro' }] });
    return acc;
  });
}

const notes: string[] = [];

interface Row {
  phase: string;
  requests: number;
  failed: number;
  calls: number;
  p50: number;
  p99: number;
}

/**
 * All at once: check i runs in process i % N for account floor(i / N) % A, so every account reaches
 * every process. Each process runs its share of checks concurrently in itself (POST /burst).
 */
async function burst(phase: string, procs: Instance[], accs: string[], n = REQUESTS): Promise<Row> {
  const before = emu.callCount('accounts.status');
  const shares: string[][] = procs.map(() => []);
  for (let i = 0; i < n; i++) shares[i % procs.length]?.push(accs[Math.floor(i / procs.length) % accs.length] as string);
  const answers = await Promise.all(
    procs.map(async (p, j) => {
      const r = await fetch(`${p.url}/burst`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ accounts: shares[j] }),
      });
      return (await r.json()) as { took: number[]; failed: Record<string, number> };
    }),
  );
  const took = answers.flatMap((a) => a.took).sort((a, b) => a - b);
  const why: Record<string, number> = {};
  for (const a of answers) for (const [k, v] of Object.entries(a.failed)) why[k] = (why[k] ?? 0) + v;
  const failed = Object.values(why).reduce((x, y) => x + y, 0);
  if (failed) notes.push(`${phase}: failures ${JSON.stringify(why)}`);
  return { phase, requests: n, failed, calls: emu.callCount('accounts.status') - before, p50: pct(took, 50), p99: pct(took, 99) };
}

// Two at a time: eight tsx start-ups at once on a small machine outlast the start-up timeout.
async function fleetOf(env: Record<string, string>, n = PROCS): Promise<Instance[]> {
  const all: Instance[] = [];
  while (all.length < n) all.push(...(await Promise.all(Array.from({ length: Math.min(2, n - all.length) }, () => startInstance(env, 'store-child.ts')))));
  return all;
}
const base = { EMU_URL: emu.url, EMU_KEY: emu.apiKey };
const rows: Row[] = [];

// 1. Without the store: each process asks ecom9 for itself.
{
  const procs = await fleetOf({ ...base, REDIS_URL: await ensureRedis(), STORE: '0' });
  // A first burst compiles the request path in every process (tsx, lazily): not what is measured.
  await burst('warm-up (other accounts)', procs, accounts('warm0'));
  rows.push(await burst('cold, no store', procs, accounts('nostore')));
  await Promise.all(procs.map((p) => p.stop()));
}

// 2. With the store, on a Redis of its own (paused below).
const redis = await privateRedis();
const env = { ...base, REDIS_URL: redis.url, PREFIX: `bench-${randomUUID()}:` };
const procs = await fleetOf(env);
await burst('warm-up (other accounts)', procs, accounts('warm1'));
const known = accounts('store');
rows.push(await burst('cold, store', procs, known));

// 3. A new process's first request for an account the fleet knows.
{
  const [late] = (await fleetOf(env, 1)) as [Instance];
  const before = emu.callCount('accounts.status');
  const t0 = performance.now();
  const r = await fetch(`${late.url}/tier`, { headers: { 'x-account': known[1] as string } });
  const ms = performance.now() - t0;
  notes.push(
    `new process, first request for a known account: status ${r.status}, ${emu.callCount('accounts.status') - before} upstream calls, ${ms.toFixed(1)} ms`,
  );
  await late.stop();
}

// 4. Redis paused mid-run, then resumed.
rows.push(await burst('cold, store, Redis paused', procs, (redis.pause(), accounts('paused'))));
redis.resume();
// The instances skip Redis for retryAfterMs (1 s) after a failure, then use it again.
await new Promise((r) => setTimeout(r, 1_500));
rows.push(await burst('cold, store, Redis resumed', procs, accounts('resumed')));

const stats = await Promise.all(procs.map(async (p) => (await (await fetch(`${p.url}/stats`)).json()) as Record<string, number>));
const sum = (k: string) => stats.reduce((n, s) => n + (s[k] ?? 0), 0);
notes.push(
  `store counters over the run (all ${PROCS} processes): storeHits ${sum('storeHits')}, storeMisses ${sum('storeMisses')}, storeLockWaits ${sum('storeLockWaits')}, storeErrors ${sum('storeErrors')}, storeBypassed ${sum('storeBypassed')}`,
);
await Promise.all(procs.map((p) => p.stop()));
await redis.stop();
await emu.close();

const cpu = os.cpus();
console.log(
  `fleet: ${PROCS} processes, ${REQUESTS} concurrent cold checks over ${ACCOUNTS} accounts, ecom9 latency ${LATENCY_MS} ms, store timeoutMs ${process.env.TIMEOUT_MS ?? 50} (TIMEOUT_MS), load average ${os.loadavg()[0]?.toFixed(1)} on ${cpu.length} cores (${cpu[0]?.model}), Node ${process.version}`,
);
console.log('| phase | checks | failed | upstream status calls | p50 ms | p99 ms |');
console.log('|---|---:|---:|---:|---:|---:|');
for (const r of rows) console.log(`| ${r.phase} | ${r.requests} | ${r.failed} | ${r.calls} | ${r.p50.toFixed(1)} | ${r.p99.toFixed(1)} |`);
const paused = rows.find((r) => r.phase.endsWith('paused'));
const cold = rows.find((r) => r.phase === 'cold, store');
if (paused && cold) notes.push(`added while paused: p50 ${(paused.p50 - cold.p50).toFixed(1)} ms, p99 ${(paused.p99 - cold.p99).toFixed(1)} ms`);
for (const n of notes) console.log(`- ${n}`);
