// Refresh ahead under steady traffic with ecom9 held 100 ms: p50/p99 of a gated Express route whose
// facts expire every 2 s, with refresh ahead on (the default window) and off, beside a route whose
// facts never expire (the warm path), in one run, the three routes interleaved request by request.
// `npm run bench:refresh` alone; `npm run bench` runs it too.
import type { AddressInfo } from 'node:net';
import express from 'express';
import { Pool } from 'undici';
import { createGate, type Gate } from '../src/index';
import { createEmulator } from '../src/emulator/index';
import { expressGate } from '../adapters/express';
import { quick } from './lib';

const ACCOUNTS = 20;
const TTL_MS = 2_000;
const HELD_MS = 100;

export interface RefreshAheadFigures {
  seconds: number;
  requests: number;
  routes: Record<'warm' | 'ahead' | 'off', { p50: number; p99: number; max: number; upstreamCalls: number }>;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] as number;
}

export async function refreshAheadBench(seconds = quick ? 4 : 10): Promise<RefreshAheadFigures> {
  const emu = createEmulator();
  for (let i = 0; i < ACCOUNTS; i++)
    emu.setAccount(`r-${i}`, { customerEmail: `r${i}@example.com`, subscriptions: [{ subscription: 'studio-suite', tier: 'pro' }] });
  const emuUrl = await emu.listen(0, '127.0.0.1');
  const gateOf = (cache: Record<string, number>): Gate =>
    createGate({ apiKey: emu.apiKey, baseUrl: emuUrl, logger: { warn: () => {} }, cache: { denyTtlMs: 1_000, ...cache } });
  const gates = { warm: gateOf({ ttlMs: 3_600_000 }), ahead: gateOf({ ttlMs: TTL_MS }), off: gateOf({ ttlMs: TTL_MS, refreshAheadMs: 0 }) };
  const app = express();
  for (const [name, gate] of Object.entries(gates)) {
    const g = expressGate(gate, { accountRefId: (req) => req.get('x-account') });
    app.get(`/${name}`, g.requireTier('pro'), (_req, res) => void res.send('ok'));
  }
  const server = app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  const pool = new Pool(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, { connections: 8 });
  const names = ['warm', 'ahead', 'off'] as const;
  const get = async (route: string, account: string): Promise<number> => {
    const t0 = performance.now();
    const r = await pool.request({ path: `/${route}`, method: 'GET', headers: { 'x-account': account } });
    await r.body.text();
    if (r.statusCode !== 200) throw new Error(`/${route} answered ${r.statusCode}`);
    return performance.now() - t0;
  };
  // Every fact cached first, then ecom9 held 100 ms on every status call.
  await Promise.all(names.flatMap((n) => Array.from({ length: ACCOUNTS }, (_, i) => get(n, `r-${i}`))));
  emu.inject({ endpoint: 'accounts.status', kind: 'latency', ms: HELD_MS });
  emu.resetCalls();
  const before = Object.fromEntries(names.map((n) => [n, gates[n].stats().cacheMisses + gates[n].stats().refreshes]));
  const times: Record<(typeof names)[number], number[]> = { warm: [], ahead: [], off: [] };
  const end = performance.now() + seconds * 1_000;
  // Four clients, each asking the three routes in turn (the order rotating) for the next account.
  await Promise.all(
    [0, 1, 2, 3].map(async (c) => {
      for (let k = c; performance.now() < end; k += 4) {
        const account = `r-${k % ACCOUNTS}`;
        for (let j = 0; j < 3; j++) {
          const n = names[(k + j) % 3] as (typeof names)[number];
          times[n].push(await get(n, account));
        }
      }
    }),
  );
  const routes = {} as RefreshAheadFigures['routes'];
  for (const n of names) {
    const s = times[n].sort((a, b) => a - b);
    const st = gates[n].stats();
    routes[n] = {
      p50: percentile(s, 0.5),
      p99: percentile(s, 0.99),
      max: s[s.length - 1] as number,
      upstreamCalls: st.cacheMisses + st.refreshes - (before[n] as number),
    };
  }
  await pool.close();
  await new Promise((r) => server.close(r));
  await Promise.all(Object.values(gates).map((g) => g.close()));
  await emu.close();
  return { seconds, requests: names.reduce((sum, n) => sum + times[n].length, 0), routes };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const f = await refreshAheadBench();
  console.log(`refresh ahead: ${f.requests} requests over ${f.seconds} s, ${ACCOUNTS} accounts, TTL ${TTL_MS} ms, ecom9 held ${HELD_MS} ms`);
  console.log('| route | p50 ms | p99 ms | max ms | upstream calls |\n| --- | --- | --- | --- | --- |');
  for (const [n, r] of Object.entries(f.routes)) {
    console.log(`| ${n} | ${r.p50.toFixed(2)} | ${r.p99.toFixed(2)} | ${r.max.toFixed(1)} | ${r.upstreamCalls} |`);
  }
  console.log(`p99 with refresh ahead - warm p99: ${(f.routes.ahead.p99 - f.routes.warm.p99).toFixed(2)} ms (goal ≤ 1)`);
  process.exit(0);
}
