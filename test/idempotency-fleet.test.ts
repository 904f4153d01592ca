// Idempotency-Keys shared by the fleet through the redisStore: a client's retry that lands on
// another instance (another gate, another framework) is replayed there, byte for byte, without
// running the route or asking ecom9; another request under the key is 422 there too.
import { randomUUID } from 'node:crypto';
import { beforeAll, expect, it } from 'vitest';
import { redisStore } from 'ecom9-gate/redis';
import { gateEnv } from './support/gate-env';
import { paidRuns, startApp, testFixtures } from './support/apps';
import { ensureRedis } from './support/redis';

let url: string;
beforeAll(async () => {
  url = await ensureRedis();
});

it('a retry on another instance is replayed there; another request under the key is 422 there', async () => {
  const prefix = `idem-fleet-${randomUUID()}:`;
  // Two instances of the app, each with its own gate and store, on one emulator and one Redis.
  await using a = await gateEnv({ emulator: { fixtures: testFixtures() }, gate: { store: redisStore({ url, prefix }) } });
  await using b = await gateEnv({ emu: a.emu, gate: { store: redisStore({ url, prefix }) } });
  const { emu } = a;
  const appA = await startApp('express', a.gate);
  const appB = await startApp('hono', b.gate);
  try {
    const account = `fleet-${randomUUID()}`;
    emu.setAccount(account, { customerEmail: 'f@example.com' });
    emu.setCredits(account, 'ai-images', 'credits', 100);
    paidRuns.count = 0;
    const key = randomUUID();
    const send = (base: string, prompt: string) =>
      fetch(`${base}/paid/small`, {
        method: 'POST',
        headers: { 'x-account': account, 'idempotency-key': key, 'content-type': 'application/json' },
        body: JSON.stringify({ prompt }),
      });
    const first = await send(appA.url, 'cat');
    const bytes = await first.text();
    expect(first.status).toBe(200);
    // The first instance writes the kept response once its response is over: wait for that signal.
    let retry = await send(appB.url, 'cat');
    for (let i = 0; i < 50 && retry.status === 409; i++) {
      await new Promise((r) => setTimeout(r, 20));
      retry = await send(appB.url, 'cat');
    }
    expect(retry.status).toBe(200);
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
    expect(await retry.text()).toBe(bytes);
    expect((await send(appB.url, 'dog')).status).toBe(422);
    expect(paidRuns.count).toBe(1);
    expect(emu.callCount('credits.debit')).toBe(1);
    expect(emu.credits(account, 'ai-images', 'credits')).toBe(95);
  } finally {
    await appA.close();
    await appB.close();
  }
});
