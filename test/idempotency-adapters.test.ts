// The Idempotency-Key scenarios on every adapter, over real HTTP against the emulator, as an attacker
// would try them: a reused key never runs paid work again (50 sequential reuses with other bodies,
// 20 concurrent, one key across path parameters), a retry is a byte-equal replay without an
// upstream call, and meterUsage meters each different request under one key once.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Gate } from 'ecom9-gate';
import { sharedGateEnv } from './support/gate-env';
import { FRAMEWORKS, paidRuns, startApp, testFixtures } from './support/apps';
import { PLATFORMS, startNestApp } from './support/nest-app';

/** The scenario apps, and Nest on each of its platforms (its POST answers 201). */
const TARGETS = [...FRAMEWORKS.map((fw) => ({ name: fw, ok: 200 })), ...PLATFORMS.map((p) => ({ name: `nest-${p}`, ok: 201 }))];
type RunningApp = { url: string; close(): Promise<void> };
const start = (name: string, gate: Gate): Promise<RunningApp> =>
  name.startsWith('nest-') ? startNestApp(name.slice(5) as (typeof PLATFORMS)[number], gate) : startApp(name as (typeof FRAMEWORKS)[number], gate);

const paid = (app: RunningApp, account: string, key: string, size: string, prompt: string) =>
  fetch(`${app.url}/paid/${size}`, {
    method: 'POST',
    headers: { 'x-account': account, 'idempotency-key': key, 'content-type': 'application/json' },
    body: JSON.stringify({ prompt }),
  });

describe.each(TARGETS)('$name: Idempotency-Key', ({ name: fw, ok }) => {
  const env = sharedGateEnv({ emulator: { fixtures: testFixtures() } });
  let app: RunningApp;
  let account: string;

  beforeAll(async () => {
    app = await start(fw, env.gate);
  });
  afterAll(async () => {
    await app.close();
  });
  beforeEach(() => {
    account = `idem-${fw}-${randomUUID()}`;
    env.emu.setAccount(account, { customerEmail: 'i@example.com' });
    env.emu.setCredits(account, 'ai-images', 'credits', 1_000);
    env.emu.resetCalls();
    paidRuns.count = 0;
  });

  it('50 sequential reuses with different bodies: the route runs once, 49 are 422, one debit', async () => {
    const key = randomUUID();
    const statuses: number[] = [];
    for (let i = 0; i < 50; i++) {
      const res = await paid(app, account, key, 'small', `cat ${i}`);
      statuses.push(res.status);
      if (i === 0) expect(await res.json()).toMatchObject({ size: 'small', prompt: 'cat 0' });
      else {
        expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
        expect(await res.json()).toMatchObject({ status: 422, code: 'idempotency_key_mismatch' });
      }
    }
    expect(statuses.filter((s) => s === ok)).toHaveLength(1);
    expect(statuses.filter((s) => s === 422)).toHaveLength(49);
    expect(paidRuns.count).toBe(1);
    expect(env.emu.callCount('credits.debit')).toBe(1);
    expect(env.emu.credits(account, 'ai-images', 'credits')).toBe(1_000 - 5);
  });

  it('20 concurrent requests with one key: the route runs once, the rest are 409 or a replay', async () => {
    const key = randomUUID();
    const all = await Promise.all(Array.from({ length: 20 }, () => paid(app, account, key, 'small', 'cat')));
    const first = all.filter((r) => r.status === ok && r.headers.get('idempotent-replayed') === null);
    const others = all.filter((r) => !first.includes(r));
    expect(first).toHaveLength(1);
    for (const r of others) {
      expect([409, ok]).toContain(r.status);
      if (r.status === 409) expect(((await r.json()) as { code: string }).code).toBe('idempotency_key_in_flight');
      else expect(r.headers.get('idempotent-replayed')).toBe('true');
    }
    expect(paidRuns.count).toBe(1);
    expect(env.emu.credits(account, 'ai-images', 'credits')).toBe(1_000 - 5);
  });

  it('one key on /paid/:size with 4 sizes: the first runs, the other three are 422', async () => {
    const key = randomUUID();
    const statuses = [];
    for (const size of ['small', 'medium', 'large', 'huge']) statuses.push((await paid(app, account, key, size, 'cat')).status);
    expect(statuses).toEqual([ok, 422, 422, 422]);
    expect(paidRuns.count).toBe(1);
    expect(env.emu.credits(account, 'ai-images', 'credits')).toBe(1_000 - 5);
  });

  it('a retry of the same request is the first response again, byte for byte, marked as a replay, with no upstream call', async () => {
    const key = randomUUID();
    const first = await paid(app, account, key, 'small', 'cat');
    const bytes = await first.text();
    expect(JSON.parse(bytes)).toMatchObject({ size: 'small', prompt: 'cat' });
    const calls = env.emu.callCount();
    const retry = await paid(app, account, key, 'small', 'cat');
    expect(retry.status).toBe(first.status);
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
    expect(retry.headers.get('content-type')).toBe(first.headers.get('content-type'));
    expect(await retry.text()).toBe(bytes);
    expect(paidRuns.count).toBe(1);
    expect(env.emu.callCount()).toBe(calls);
    // Another account's same key is its own.
    const other = `${account}-b`;
    env.emu.setAccount(other, { customerEmail: 'o@example.com' });
    env.emu.setCredits(other, 'ai-images', 'credits', 10);
    expect((await paid(app, other, key, 'small', 'dog')).headers.get('idempotent-replayed')).toBeNull();
    expect(paidRuns.count).toBe(2);
  });

  it('a first request ecom9 could not be asked about (503) gives its key back: the retry runs, charged once', async () => {
    const key = randomUUID();
    env.emu.inject({ endpoint: 'credits.debit', kind: 'status', status: 503, times: 10 });
    expect((await paid(app, account, key, 'small', 'cat')).status).toBe(503);
    env.emu.clearFaults();
    const retry = await paid(app, account, key, 'small', 'cat');
    expect(retry.status).toBe(ok);
    expect(retry.headers.get('idempotent-replayed')).toBeNull();
    expect(paidRuns.count).toBe(1);
    expect(env.emu.credits(account, 'ai-images', 'credits')).toBe(1_000 - 5);
  });

  it('answers 400 to a malformed key, running nothing', async () => {
    const res = await paid(app, account, 'x'.repeat(300), 'small', 'cat');
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ code: 'idempotency_key_invalid' });
    expect(paidRuns.count).toBe(0);
    expect(env.emu.callCount('credits.debit')).toBe(0);
  });

  it('meterUsage: one key reused on 200 different requests meters 200 events; an identical retry once', async () => {
    const key = randomUUID();
    for (let i = 0; i < 200; i++) {
      // Different in a path parameter or only in the query: each is another request.
      const res = await fetch(`${app.url}/meter-any/${i % 2}?n=${i}`, { headers: { 'x-account': account, 'idempotency-key': key } });
      expect(res.status).toBe(200);
      await res.arrayBuffer();
    }
    for (let i = 0; i < 3; i++) await (await fetch(`${app.url}/meter-any/0?n=0`, { headers: { 'x-account': account, 'idempotency-key': key } })).arrayBuffer();
    // Metered once each response is over on the server, which may be just after the client read it.
    const total = () => env.emu.usageTotal(account, 'api-access', 'api_calls');
    for (let i = 0; i < 100 && total() < 200; i++) {
      await env.gate.flush();
      await new Promise((r) => setTimeout(r, 20));
    }
    await env.gate.flush();
    expect(total()).toBe(200);
  });
});
