// The heavy reliability figures, too slow for `npm test`: 1,000 debits under random faults, 10,000
// usage events under random faults with a process killed midway (recovered through the spool), the
// cache bound under 1,000,000 invented accounts, and metered HTTP traffic to a process SIGKILLed
// mid-load (5 trials): every 200 a client got is counted, none twice; Idempotency-Keys reused as an
// attacker would (0 re-runs of paid work), and events streams opened pipelined (0 left open once
// their connections close). Exits 1 when any figure is off.
// Run: npx tsx scripts/reliability.ts [--quick] [--only=debits,usage,cache,metered,keys,streams]
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { createAdaptorServer } from '@hono/node-server';
import { Hono } from 'hono';
import { createGate, type Gate } from '../src/index';
import type { Server } from 'node:http';
import type { Context } from 'hono';
import { expressGate } from '../adapters/express';
import { honoGate } from '../adapters/hono';
import { accountRoutesCore } from '../src/middleware/account-routes';
import { serveNode, serveWeb } from '../src/middleware/account-routes-io';
import { createEmulator, type FaultSpec } from '../src/emulator/index';

const quick = process.argv.includes('--quick');
const only = process.argv
  .find((a) => a.startsWith('--only='))
  ?.slice('--only='.length)
  .split(',');
const runs = (name: string): boolean => only === undefined || only.includes(name);
const DEBITS = quick ? 200 : 1_000;
const EVENTS = quick ? 2_000 : 10_000;
const REFS = quick ? 100_000 : 1_000_000;

let seed = 42;
const rand = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
const KINDS: FaultSpec['kind'][] = ['status', 'rate_limit', 'drop', 'malformed', 'bad_schema', 'latency'];
const randomFault = (endpoint: FaultSpec['endpoint']): FaultSpec => ({
  endpoint,
  kind: KINDS[Math.floor(rand() * KINDS.length)] as FaultSpec['kind'],
  times: 1,
  ms: 300,
  status: 500 + Math.floor(rand() * 4),
  retryAfter: 0,
  dropAfterProcessing: rand() < 0.5,
});

/** Prints a figure that must hold; a wrong one makes the run fail. */
function check(what: string, ok: boolean): void {
  if (!ok) process.exitCode = 1;
  console.log(`  ${ok ? 'ok  ' : 'FAIL'} ${what}`);
}

const emu = createEmulator();
await emu.listen(0);
const base = { apiKey: emu.apiKey, baseUrl: emu.url, logger: { warn: () => {} }, onError: () => {} };

// 1. Debits: every request retried by its client with the same key until answered. The ledger must
// hold one approved row per request, each under the key issued for it: a retry under a new key
// would add a row (a double charge) that a per-key count could never see.
if (runs('debits')) {
  const gate = createGate({ ...base, http: { timeoutMs: 200, maxRetries: 1, retryBaseMs: 5, retryMaxMs: 10 } });
  const START = 10_000_000;
  const QTY = 7;
  emu.setAccount('rel-debit', { customerEmail: 'd@example.com' });
  emu.setCredits('rel-debit', 'ai-images', 'credits', START);
  const issued = new Set<string>();
  let answered = 0;
  let faulted = 0;
  for (let i = 0; i < DEBITS; i++) {
    if (rand() < 0.5) {
      emu.inject(randomFault('credits.debit'));
      faulted++;
    }
    const eventKey = `rel-${i}`;
    issued.add(eventKey);
    for (let attempt = 0; attempt < 5; attempt++) {
      const d = await gate.debitCredits({ accountRefId: 'rel-debit', product: 'ai-images', meter: 'credits', quantity: QTY, eventKey });
      if (d.allowed) {
        answered++;
        break;
      }
    }
  }
  emu.clearFaults();
  const rows = emu.ledger.filter((l) => l.accountRefId === 'rel-debit');
  const approved = rows.filter((r) => r.approved);
  const foreign = rows.filter((r) => !issued.has(r.eventKey)).length;
  const balance = emu.credits('rel-debit', 'ai-images', 'credits');
  console.log(`debits: ${DEBITS} requests, ${faulted} with a fault injected, ${answered} approved; ledger rows ${rows.length} (${approved.length} approved)`);
  check(`every request answered: ${answered} of ${DEBITS}`, answered === DEBITS);
  check(`ledger rows under a key never issued: ${foreign}`, foreign === 0);
  check(`double charges (approved rows - approved requests): ${approved.length - answered}`, approved.length === answered && rows.length === DEBITS);
  check(`balance ${balance} = ${START} - ${QTY} x ${answered}`, balance === START - QTY * answered);
  await gate.close();
}

// 2. Usage: a process records EVENTS events under random faults and is killed midway; a new process
// with the same spool delivers the rest.
if (runs('usage')) {
  emu.setAccount('spooler', { customerEmail: 's@example.com' });
  const spool = join(mkdtempSync(join(tmpdir(), 'ecom9-rel-')), 'usage.jsonl');
  for (let i = 0; i < EVENTS / 5; i++) emu.inject(randomFault('usage.record'));
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('../test/fixtures/spool-child.ts', import.meta.url))], {
    env: { ...process.env, EMU_URL: emu.url, EMU_KEY: emu.apiKey, SPOOL: spool },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  child.stdin.write(`record ${EVENTS}\n`);
  while (emu.usageEvents.filter((e) => e.accountRefId === 'spooler').length < EVENTS / 2) await new Promise((r) => setTimeout(r, 5));
  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));
  const beforeRestart = emu.usageEvents.filter((e) => e.accountRefId === 'spooler').length;
  const pending = readFileSync(spool, 'utf8').split('\n').filter(Boolean).length;
  const gate = createGate({ ...base, usage: { spoolPath: spool, retryBaseMs: 1, retryMaxMs: 5, maxAttempts: 100, concurrency: 8 } });
  await gate.flush();
  emu.clearFaults();
  const events = emu.usageEvents.filter((e) => e.accountRefId === 'spooler');
  // spool-child.ts keys its events spool-0 … spool-(N-1).
  const issued = new Set(Array.from({ length: EVENTS }, (_, i) => `spool-${i}`));
  const recorded = new Set(events.map((e) => e.eventKey));
  const lost = [...issued].filter((k) => !recorded.has(k)).length;
  const foreign = events.filter((e) => !issued.has(e.eventKey)).length;
  const total = emu.usageTotal('spooler', 'api-access', 'api_calls');
  console.log(
    `usage: ${EVENTS} events, process killed after ${beforeRestart} arrived (journal lines then: ${pending}); after restart: ${events.length} recorded, ${recorded.size} distinct; total usage ${total}`,
  );
  check(`lost (issued keys never recorded): ${lost}`, lost === 0);
  check(`rows under a key never issued: ${foreign}`, foreign === 0);
  check(`counted twice (total usage - events): ${total - EVENTS}`, total === EVENTS && events.length === EVENTS);
  await gate.close();
}

// 3. Cache bound under invented accounts.
if (runs('cache')) {
  const max = 10_000;
  const gate = createGate({ ...base, cache: { max } });
  let peak = 0;
  const t0 = performance.now();
  const batch = 500;
  for (let i = 0; i < REFS; i += batch) {
    await Promise.all(Array.from({ length: batch }, (_, j) => gate.checkTier(`invented-${i + j}`, { tiers: 'pro' })));
    peak = Math.max(peak, gate.stats().cacheSize);
  }
  const mem = process.memoryUsage().heapUsed;
  const misses = gate.stats().cacheMisses;
  console.log(
    `cache: ${REFS} distinct refs in ${((performance.now() - t0) / 1000).toFixed(1)} s, max ${max}, peak size ${peak}, heap ${(mem / 1e6).toFixed(0)} MB`,
  );
  check(`peak cache size ${peak} <= max ${max}`, peak <= max);
  check(`every invented ref asked ecom9 once: ${misses} misses`, misses === REFS);
  await gate.close();
}
// 4. Metered HTTP under load, the process SIGKILLed at a random moment, 5 times: each client that got
// its 200 must be counted once the journal is replayed, and nothing counted twice (no more events
// than requests that reached the handler, each event key once).
if (runs('metered')) {
  const TRIALS = 5;
  const CLIENTS = 16;
  let lostTotal = 0;
  let doubleTotal = 0;
  for (let trial = 0; trial < TRIALS; trial++) {
    const account = `metered-kill-${trial}-${Date.now()}`;
    emu.setAccount(account, { customerEmail: 'k@example.com' });
    const spool = join(mkdtempSync(join(tmpdir(), 'ecom9-rel-meter-')), 'usage.jsonl');
    const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('../test/fixtures/metered-child.ts', import.meta.url))], {
      env: { ...process.env, EMU_URL: emu.url, EMU_KEY: emu.apiKey, SPOOL: spool, AGG_MS: '20' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const [chunk] = (await once(child.stdout, 'data')) as [Buffer];
    const url = `http://127.0.0.1:${Number(chunk.toString().trim())}/v1/work`;
    let got = 0;
    let sent = 0;
    let dead = false;
    const exited = once(child, 'exit');
    void exited.then(() => (dead = true));
    const loop = async () => {
      while (!dead) {
        sent++;
        try {
          const r = await fetch(url, { headers: { 'x-account': account } });
          if (r.status === 200 && (await r.text()) === '{"ok":true}') got++;
        } catch {
          // The process died under this request.
        }
      }
    };
    const loops = Array.from({ length: CLIENTS }, loop);
    await new Promise((r) => setTimeout(r, 300 + Math.floor(rand() * 700)));
    child.kill('SIGKILL');
    await exited;
    await Promise.all(loops);
    const gate = createGate({ ...base, usage: { spoolPath: spool, retryBaseMs: 1, retryMaxMs: 5 } });
    await gate.flush();
    await gate.close();
    const rows = emu.usageEvents.filter((e) => e.accountRefId === account);
    const total = emu.usageTotal(account, 'api-access', 'api_calls');
    const keys = new Set(rows.map((e) => e.eventKey));
    const lost = Math.max(0, got - total);
    const double = Math.max(0, total - sent) + (rows.length - keys.size);
    lostTotal += lost;
    doubleTotal += double;
    console.log(`metered kill ${trial + 1}/${TRIALS}: ${sent} requests sent, ${got} answered 200, ${total} counted after the restart (${rows.length} events)`);
  }
  check(`metered SIGKILL x${TRIALS}: lost (200s not counted): ${lostTotal}`, lostTotal === 0);
  check(`metered SIGKILL x${TRIALS}: double-counted: ${doubleTotal}`, doubleTotal === 0);
}

/**
 * An Express and a Hono app with a paid route (its runs counted) and the account routes, on
 * loopback. The account routes are mounted as the adapters mount them (accountRoutesCore and its
 * writer), so the script can read how many streams are open.
 */
async function paidApps(gate: Gate, runs: { count: number }) {
  const answer = async (size: string) => {
    runs.count++;
    await new Promise((r) => setTimeout(r, 20));
    return { run: crypto.randomUUID(), size };
  };
  const report = (err: unknown) => gate.reportError(err);
  const routes = { rate: { max: 1_000_000 } };
  const e = expressGate(gate, { accountRefId: (req) => req.get('x-account') });
  const ex = express();
  const exCore = accountRoutesCore(gate, (req: express.Request) => req.get('x-account'), routes);
  ex.post(
    '/paid/:size',
    e.chargeCredits({ product: 'ai-images', meter: 'credits', quantity: 1 }),
    async (req, res) => void res.json(await answer(String(req.params.size))),
  );
  ex.use('/api/ecom9', (req, res) => void serveNode(exCore, req, req.method, req.url, res, report));
  const h = honoGate(gate, { accountRefId: (c) => c.req.header('x-account') });
  const hono = new Hono();
  const hoCore = accountRoutesCore(gate, (c: Context) => c.req.header('x-account'), routes);
  hono.post('/paid/:size', h.chargeCredits({ product: 'ai-images', meter: 'credits', quantity: 1 }), async (c) => c.json(await answer(c.req.param('size'))));
  hono.all('/api/ecom9/*', (c) => serveWeb(hoCore, c, c.req.raw, '/api/ecom9', report, (c.env as { outgoing?: unknown }).outgoing));
  const servers = [ex.listen(0, '127.0.0.1'), createAdaptorServer({ fetch: hono.fetch }).listen(0, '127.0.0.1')] as Server[];
  await Promise.all(servers.map((s) => new Promise((r) => (s.listening ? r(undefined) : s.once('listening', r)))));
  return {
    apps: servers.map((s, i) => ({
      name: i === 0 ? 'express' : 'hono',
      url: `http://127.0.0.1:${(s.address() as AddressInfo).port}`,
      core: i === 0 ? exCore : hoCore,
    })),
    close: () => Promise.all(servers.map((s) => new Promise((r) => (s.closeAllConnections(), s.close(r))))),
  };
}

// 5. Idempotency-Keys reused as an attacker would: sequentially with other bodies, concurrently,
// and across a path parameter. The paid route must run once per key, and be charged once.
if (runs('keys')) {
  const gate = createGate({ ...base });
  const runsOf = { count: 0 };
  const { apps, close } = await paidApps(gate, runsOf);
  const KEYS = quick ? 5 : 20;
  let reruns = 0;
  let upstream = 0;
  for (const app of apps) {
    const account = `rel-keys-${app.name}-${Date.now()}`;
    emu.setAccount(account, { customerEmail: 'k@example.com' });
    emu.setCredits(account, 'ai-images', 'credits', 1_000_000);
    const post = (key: string, size: string, prompt: string) =>
      fetch(`${app.url}/paid/${size}`, {
        method: 'POST',
        headers: { 'x-account': account, 'idempotency-key': key, 'content-type': 'application/json' },
        body: JSON.stringify({ prompt }),
      });
    runsOf.count = 0;
    const before = emu.callCount('credits.debit');
    for (let k = 0; k < KEYS; k++) {
      const key = `rel-${app.name}-${k}-${Date.now()}`;
      for (let i = 0; i < 50; i++) await (await post(key, 'small', `prompt ${i}`)).arrayBuffer();
      await Promise.all(Array.from({ length: 20 }, async () => (await post(key, 'small', 'prompt 0')).arrayBuffer()));
      for (const size of ['medium', 'large', 'huge']) await (await post(key, size, 'prompt 0')).arrayBuffer();
    }
    const debits = emu.callCount('credits.debit') - before;
    const balance = emu.credits(account, 'ai-images', 'credits');
    reruns += runsOf.count - KEYS;
    upstream += debits - KEYS;
    console.log(
      `keys (${app.name}): ${KEYS} keys x 73 requests (50 other bodies, 20 concurrent, 3 other sizes): ${runsOf.count} runs, ${debits} debit calls, balance ${balance}`,
    );
    check(`keys (${app.name}): charged once per key: ${1_000_000 - balance} of ${KEYS}`, balance === 1_000_000 - KEYS);
  }
  check(`keys: handler re-runs on a reused key: ${reruns}`, reruns === 0);
  check(`keys: upstream calls beyond one debit per key: ${upstream}`, upstream === 0);
  await close();
  await gate.close();
}

// 6. Events streams opened pipelined: 40 accounts x 60 opens in one write each; once the sockets
// close, no stream, slot or heartbeat timer is left, and every account can open its five again.
if (runs('streams')) {
  const gate = createGate({ ...base });
  const { apps, close } = await paidApps(gate, { count: 0 });
  for (const app of apps) {
    const ACCOUNTS = quick ? 10 : 40;
    const { port } = new URL(app.url);
    const sockets = await Promise.all(
      Array.from({ length: ACCOUNTS }, async (_, a) => {
        const s = connect(Number(port), '127.0.0.1');
        s.on('error', () => {});
        await new Promise((r) => s.once('connect', r));
        let seen = '';
        s.on('data', (d: Buffer) => void (seen += d.toString()));
        s.write(`GET /api/ecom9/events HTTP/1.1\r\nHost: x\r\nx-account: pipe-${app.name}-${a}\r\n\r\n`.repeat(60));
        for (let i = 0; i < 300 && !seen.includes(': connected'); i++) await new Promise((r) => setTimeout(r, 10));
        return s;
      }),
    );
    // Give the queued opens time to be answered (each one behind its connection's first stream).
    await new Promise((r) => setTimeout(r, 200));
    const open = app.core.streams();
    const slots = app.core.streamSlots();
    for (const s of sockets) s.destroy();
    for (let i = 0; i < 300 && (app.core.streams() > 0 || app.core.streamSlots() > 0); i++) await new Promise((r) => setTimeout(r, 10));
    const left = app.core.streams();
    const slotsLeft = app.core.streamSlots();
    let reopened = 0;
    for (let a = 0; a < ACCOUNTS; a++) {
      const held = await Promise.all(
        Array.from({ length: 5 }, () => fetch(`${app.url}/api/ecom9/events`, { headers: { 'x-account': `pipe-${app.name}-${a}` } })),
      );
      reopened += held.filter((r) => r.status === 200).length;
      await Promise.all(held.map((r) => r.body?.cancel()));
    }
    console.log(
      `streams (${app.name}): ${ACCOUNTS} accounts x 60 pipelined opens: ${open} streams open (${slots} slots) while connected, ${left} streams and ${slotsLeft} slots left after close; ${reopened} of ${ACCOUNTS * 5} reopened`,
    );
    check(`streams (${app.name}): one stream per connection while open: ${open} of ${ACCOUNTS}`, open === ACCOUNTS);
    check(`streams (${app.name}): leaked streams after close: ${left} (slots ${slotsLeft})`, left === 0 && slotsLeft === 0);
    check(`streams (${app.name}): every account opens its five again: ${reopened} of ${ACCOUNTS * 5}`, reopened === ACCOUNTS * 5);
  }
  await close();
  await gate.close();
}

await emu.close();
console.log(process.exitCode ? 'reliability: FAILED' : 'reliability: every figure holds');
