// Fan-out latency of an invalidation over the Redis bus: for 2, 4 and 8 processes, one instance
// invalidates an account and every other instance reports when it applied it. Prints p50 and p99 in ms.
// Run: npm run bench:bus   (needs Redis on 127.0.0.1:6379; started when it is not answering)
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import { createEmulator } from '../src/emulator/index';
import { startInstance, type Instance } from '../test/support/processes';
import { ensureRedis } from '../test/support/redis';

const ROUNDS = Number(process.env.ROUNDS ?? 200);
const SIZES = (process.env.SIZES ?? '2,4,8').split(',').map(Number);

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number;
}

const emu = createEmulator();
await emu.listen(0);
const redisUrl = await ensureRedis();
console.log(`bus fan-out: ${ROUNDS} invalidations per size, Redis ${redisUrl}, ${os.cpus().length} cores (${os.cpus()[0]?.model}), Node ${process.version}`);
console.log('processes | samples | p50 ms | p99 ms | max ms');
for (const n of SIZES) {
  const channel = `ecom9-bench-${randomUUID()}`;
  const env = { REDIS_URL: redisUrl, CHANNEL: channel, EMU_URL: emu.url, EMU_KEY: emu.apiKey, WEBHOOK_SECRET: emu.webhookSecret };
  const group: Instance[] = await Promise.all(Array.from({ length: n }, () => startInstance(env)));
  await Promise.all(group.map((i) => i.waitFor((l) => l.bus === 'up', 10_000, true)));
  const samples: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const ref = `bench-${r}`;
    const publisher = group[r % n] as Instance;
    const others = group.filter((i) => i !== publisher);
    const seen = others.map((i) => i.waitFor((l) => l.invalidated === ref, 5_000));
    const res = (await (await fetch(`${publisher.url}/invalidate/${ref}`, { method: 'POST' })).json()) as { at: number };
    for (const l of await Promise.all(seen)) samples.push((l.at as number) - res.at);
    for (const i of group) i.lines.length = 0;
  }
  samples.sort((a, b) => a - b);
  console.log(
    `${String(n).padStart(9)} | ${String(samples.length).padStart(7)} | ${pct(samples, 50).toFixed(2).padStart(6)} | ${pct(samples, 99).toFixed(2).padStart(6)} | ${(samples.at(-1) as number).toFixed(2).padStart(6)}`,
  );
  await Promise.all(group.map((i) => i.stop()));
}
await emu.close();
