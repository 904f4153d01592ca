// A hold + use + settle against chargeCredits' one debit, on a warm account, in a process of its own
// (the emulator runs in another): upstream calls per request (counted on the client's upstream
// channel) and this process's CPU per request (process.cpuUsage), side by side. Prints JSON.
import diagnostics from 'node:diagnostics_channel';
import { CHANNELS, createGate } from '../src/index';
import { median, quick } from './lib';

const N = quick ? 200 : 1_000;
const CONCURRENCY = 16;
const ref = 'bench-credits';
const P = { product: 'ai-images', meter: 'credits' } as const;

let calls = 0;
let balanceReads = 0;
diagnostics.channel(`tracing:${CHANNELS.upstream}:start`).subscribe((m) => {
  if ((m as { endpoint?: string }).endpoint === 'credits.balance') balanceReads++;
  else calls++;
});

const gate = createGate({ apiKey: process.env.EMU_KEY as string, baseUrl: process.env.EMU_URL as string, logger: { warn: () => {} } });

/** Runs `one` N times, CONCURRENCY at a time; answers CPU µs and upstream calls (other than balance reads) per request. */
async function measure(one: () => Promise<unknown>): Promise<{ cpuUs: number; calls: number }> {
  const before = calls;
  const cpu = process.cpuUsage();
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next++ < N) await one();
    }),
  );
  const used = process.cpuUsage(cpu);
  return { cpuUs: (used.user + used.system) / N, calls: (calls - before) / N };
}

const charge = () => gate.debitCredits({ accountRefId: ref, ...P, quantity: 1 });
const hold = async () => {
  const { hold: h } = await gate.reserveCredits(ref, { ...P, quantity: 5 });
  h?.use(1);
  await h?.settle();
};

// Warm: the balance view is fetched once (a cold account's one extra call), then holds run on it.
await hold();
await charge();
const holdRuns: Array<{ cpuUs: number; calls: number }> = [];
const chargeRuns: Array<{ cpuUs: number; calls: number }> = [];
const t0 = performance.now();
const readsBefore = balanceReads;
// Alternating which goes first: the machine's drift falls on both sides alike.
for (let round = 0; round < 6; round++) {
  if (round % 2 === 0) {
    holdRuns.push(await measure(hold));
    chargeRuns.push(await measure(charge));
  } else {
    chargeRuns.push(await measure(charge));
    holdRuns.push(await measure(hold));
  }
}
const seconds = (performance.now() - t0) / 1000;
await gate.close();
const holdCpuUs = median(holdRuns.map((r) => r.cpuUs));
const chargeCpuUs = median(chargeRuns.map((r) => r.cpuUs));
process.stdout.write(
  `${JSON.stringify({
    requests: N,
    holdCallsPerRequest: Math.max(...holdRuns.map((r) => r.calls)),
    // The balance view is read again once per balanceTtlMs (5 s) per account, whatever the traffic.
    balanceReads: balanceReads - readsBefore,
    seconds,
    chargeCallsPerRequest: Math.max(...chargeRuns.map((r) => r.calls)),
    holdCpuUs,
    chargeCpuUs,
    cpuRatio: holdCpuUs / chargeCpuUs,
  })}\n`,
);
