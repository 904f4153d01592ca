// The heavy reliability figures, too slow for `npm test`: 1,000 debits under random faults, 10,000
// usage events under random faults with a process killed midway (recovered through the spool), and
// the cache bound under 1,000,000 invented accounts. Run: npx tsx scripts/reliability.ts [--quick]
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createGate } from '../src/index';
import { createEmulator, type FaultSpec } from '../src/emulator/index';

const quick = process.argv.includes('--quick');
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

const emu = createEmulator();
await emu.listen(0);
const base = { apiKey: emu.apiKey, baseUrl: emu.url, logger: { warn: () => {} }, onError: () => {} };

// 1. Debits: every request retried by its client with the same key until answered.
{
  const gate = createGate({ ...base, http: { timeoutMs: 200, maxRetries: 1, retryBaseMs: 5, retryMaxMs: 10 } });
  emu.setAccount('rel-debit', { customerEmail: 'd@example.com' });
  emu.setCredits('rel-debit', 'ai-images', 'credits', 10_000_000);
  let answered = 0;
  let faulted = 0;
  for (let i = 0; i < DEBITS; i++) {
    if (rand() < 0.5) {
      emu.inject(randomFault('credits.debit'));
      faulted++;
    }
    for (let attempt = 0; attempt < 5; attempt++) {
      const d = await gate.debitCredits({ accountRefId: 'rel-debit', product: 'ai-images', meter: 'credits', quantity: 7, eventKey: `rel-${i}` });
      if (d.allowed) {
        answered++;
        break;
      }
    }
  }
  emu.clearFaults();
  const rows = emu.ledger.filter((l) => l.accountRefId === 'rel-debit');
  const keys = new Set(rows.map((r) => r.eventKey));
  const expectedBalance = 10_000_000 - 7 * rows.filter((r) => r.approved).length;
  console.log(
    `debits: ${DEBITS} requests, ${faulted} with a fault injected, ${answered} approved; ledger rows ${rows.length}, distinct keys ${keys.size}; double charges: ${rows.length - keys.size}; balance consistent: ${emu.credits('rel-debit', 'ai-images', 'credits') === expectedBalance}`,
  );
  await gate.close();
}

// 2. Usage: a process records EVENTS events under random faults and is killed midway; a new process
// with the same spool delivers the rest.
{
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
  const distinct = new Set(events.map((e) => e.eventKey)).size;
  console.log(
    `usage: ${EVENTS} events, process killed after ${beforeRestart} arrived (journal lines then: ${pending}); after restart: ${events.length} recorded, ${distinct} distinct; lost: ${EVENTS - distinct}; counted twice: ${events.length - distinct}; total usage ${emu.usageTotal('spooler', 'api-access', 'api_calls')}`,
  );
  await gate.close();
}

// 3. Cache bound under invented accounts.
{
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
  console.log(
    `cache: ${REFS} distinct refs in ${((performance.now() - t0) / 1000).toFixed(1)} s, max ${max}, peak size ${peak}, heap ${(mem / 1e6).toFixed(0)} MB`,
  );
  await gate.close();
}
await emu.close();
