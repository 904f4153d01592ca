// Attack: keep access after a cancellation through refresh ahead. A refresh that read the old grant
// from ecom9 before the webhook, and whose answer lands after it, must not be written back; nor may a
// refetch that raced a second webhook. The answer of the status call is held back in the client's
// fetch, so "read before, landed after" is a fact of the test, not of timing.
import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, expect, it, vi } from 'vitest';
import { manualClock } from './support/env';
import { gateEnv } from './support/gate-env';

const realFetch = globalThis.fetch;
let holdStatus: Promise<void> | undefined;
let statusRead: (() => void) | undefined;
beforeAll(() => {
  globalThis.fetch = (async (input: Parameters<typeof fetch>[0], init?: RequestInit) => {
    const res = await realFetch(input, init);
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    if (holdStatus && /\/account\/[^/]+\/status/.test(url)) {
      const wait = holdStatus;
      statusRead?.();
      const body = await res.arrayBuffer();
      await wait;
      return new Response(body, { status: res.status, headers: res.headers });
    }
    return res;
  }) as typeof fetch;
});
afterAll(() => {
  globalThis.fetch = realFetch;
});
afterEach(() => {
  holdStatus = undefined;
});

const PRO = { tiers: 'pro' } as const;

it('a refresh ahead that read the grant before the cancellation webhook does not restore it', async () => {
  const clock = manualClock();
  await using env = await gateEnv({
    gate: { now: clock.now, cache: { ttlMs: 10_000, denyTtlMs: 5_000, refreshAheadMs: 2_000 }, http: { transport: 'fetch' } },
  });
  const { emu, gate } = env;
  const acc = `race-${randomUUID()}`;
  emu.setAccount(acc, { customerEmail: 'r@example.com', subscriptions: [{ subscription: 'studio-suite', tier: 'pro' }] });
  expect((await gate.checkTier(acc, PRO)).allowed).toBe(true);
  clock.advance(9_000); // within refreshAheadMs of expiry: the next check refreshes in the background
  let release!: () => void;
  holdStatus = new Promise((r) => (release = r));
  const read = new Promise<void>((r) => (statusRead = r));
  expect((await gate.checkTier(acc, PRO)).allowed).toBe(true);
  await read; // ecom9 answered "pro, active": held back in the client
  emu.setSubscription(acc, 'studio-suite', 'pro', 'canceled');
  const { body, headers } = emu.buildWebhook({ event: 'subscription-cancelled', account_ref_id: acc }, { timestamp: Math.floor(clock.now() / 1000) });
  holdStatus = undefined; // the refetch after the webhook is answered at once
  expect((await gate.handleWebhook({ rawBody: body, headers })).status).toBe(200);
  expect(await gate.checkTier(acc, PRO)).toMatchObject({ allowed: false });
  release(); // the old grant lands now
  await vi.waitFor(() => expect(emu.callCount('accounts.status', acc)).toBeGreaterThanOrEqual(3), { timeout: 5_000 });
  await new Promise((r) => setTimeout(r, 50));
  for (let i = 0; i < 3; i++) expect(await gate.checkTier(acc, PRO)).toMatchObject({ allowed: false });
  clock.advance(1_500); // past the old fact's expiry, within a fresh one's TTL
  expect(await gate.checkTier(acc, PRO)).toMatchObject({ allowed: false });
});

it('a refetch after a webhook that raced a second webhook does not keep the first answer', async () => {
  const clock = manualClock();
  await using env = await gateEnv({
    gate: { now: clock.now, cache: { ttlMs: 10_000, denyTtlMs: 5_000, refreshAheadMs: 2_000 }, http: { transport: 'fetch' } },
  });
  const { emu, gate } = env;
  const acc = `race2-${randomUUID()}`;
  emu.setAccount(acc, { customerEmail: 'r@example.com', subscriptions: [{ subscription: 'studio-suite', tier: 'pro' }] });
  expect((await gate.checkTier(acc, PRO)).allowed).toBe(true);
  // Webhook 1 (say a renewal): its refetch reads "pro, active" and is held back.
  let release!: () => void;
  holdStatus = new Promise((r) => (release = r));
  const read = new Promise<void>((r) => (statusRead = r));
  const hook = (event: string) => emu.buildWebhook({ event, account_ref_id: acc }, { timestamp: Math.floor(clock.now() / 1000) });
  const h1 = hook('subscription-renewed');
  expect((await gate.handleWebhook({ rawBody: h1.body, headers: h1.headers })).status).toBe(200);
  await read;
  // Webhook 2: cancelled.
  emu.setSubscription(acc, 'studio-suite', 'pro', 'canceled');
  holdStatus = undefined;
  const h2 = hook('subscription-cancelled');
  expect((await gate.handleWebhook({ rawBody: h2.body, headers: h2.headers })).status).toBe(200);
  const check = gate.checkTier(acc, PRO);
  release();
  expect(await check).toMatchObject({ allowed: false });
  await new Promise((r) => setTimeout(r, 50));
  for (let i = 0; i < 3; i++) expect(await gate.checkTier(acc, PRO)).toMatchObject({ allowed: false });
});
