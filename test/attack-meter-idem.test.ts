// Attack (design): meterUsage with an Idempotency-Key runs the route for every request but meters an
// identical one once (its event key holds the key and the request's fingerprint, and ecom9 applies an
// event key once). A client that sends the same postpaid request again and again with one constant
// Idempotency-Key gets every response and is billed for one. Fails on the merged code: the route runs
// 20 times, 1 call is metered. (It contradicts test/idempotency-adapters.test.ts "an identical retry
// once", which is the documented behaviour: which one stands is the lead's call.)
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Emulator } from 'ecom9-gate/emulator';
import type { Gate } from 'ecom9-gate';
import { gateFor, startEmulator } from './support/env';
import { startApp, testFixtures, type RunningApp } from './support/apps';

let emu: Emulator;
let gate: Gate;
let app: RunningApp;
beforeAll(async () => {
  emu = await startEmulator({ fixtures: testFixtures() });
  gate = gateFor(emu, { onError: () => {} });
  app = await startApp('express', gate);
});
afterAll(async () => {
  await app.close();
  await gate.close();
  await emu.close();
});

it('20 identical metered requests under one Idempotency-Key, each answered 200, are metered 20 times', async () => {
  const account = `meter-${randomUUID()}`;
  emu.setAccount(account, { customerEmail: 'm@example.com' });
  const key = randomUUID();
  let answered = 0;
  for (let i = 0; i < 20; i++) {
    const res = await fetch(`${app.url}/meter-any/0?n=0`, { headers: { 'x-account': account, 'idempotency-key': key } });
    if (res.status === 200) answered++;
    await res.arrayBuffer();
  }
  const total = () => emu.usageTotal(account, 'api-access', 'api_calls');
  for (let i = 0; i < 50 && total() < answered; i++) {
    await gate.flush();
    await new Promise((r) => setTimeout(r, 20));
  }
  expect(answered).toBe(20);
  expect(total()).toBe(answered);
});
