// The webhook routers of all three frameworks, with the emulator sending real signed webhooks: each
// change is seen by the very next request; forged, stale, replayed, malformed, oversized and
// wrong-method deliveries are refused with the right status.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Emulator } from 'ecom9-gate/emulator';
import { webhookHeaders, type Gate } from 'ecom9-gate';
import { gateFor, startEmulator } from './support/env';
import { FRAMEWORKS, startApp, type RunningApp } from './support/apps';

let emu: Emulator;
beforeAll(async () => {
  emu = await startEmulator();
});
afterAll(async () => {
  await emu.close();
});

const tier = (url: string, account: string) => fetch(`${url}/tier`, { headers: { 'x-account': account } }).then((r) => r.status);
const pay = (url: string, account: string) => fetch(`${url}/pay`, { headers: { 'x-account': account } }).then((r) => r.status);

describe.each(FRAMEWORKS)('%s webhook router', (fw) => {
  let gate: Gate;
  let app: RunningApp;
  let hook: string;

  beforeAll(async () => {
    gate = gateFor(emu);
    app = await startApp(fw, gate);
    hook = `${app.url}/webhooks/ecom9`;
  });
  afterAll(async () => {
    await app.close();
    await gate.close();
  });
  beforeEach(() => {
    emu.clearFaults();
    emu.setAccount(`${fw}-co`, { customerEmail: 'co@example.com', subscriptions: [{ subscription: 'studio-suite', tier: 'starter' }] });
  });

  const acc = `${fw}-co`;
  const send = (event: string, opts?: Parameters<Emulator['sendWebhook']>[2]) => emu.sendWebhook(hook, { event, account_ref_id: acc }, opts);

  it('an upgrade is seen by the very next request', async () => {
    expect(await tier(app.url, acc)).toBe(403);
    emu.setSubscription(acc, 'studio-suite', 'pro', 'active');
    expect(await tier(app.url, acc)).toBe(403); // still cached
    const r = await send('subscription-updated');
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body)).toEqual({ received: true });
    expect(await tier(app.url, acc)).toBe(200);
  });

  it('a cancellation is seen by the very next request', async () => {
    emu.setAccount(acc, { customerEmail: 'co@example.com', subscriptions: [{ subscription: 'studio-suite', tier: 'pro' }] });
    gate.invalidate(acc);
    expect(await tier(app.url, acc)).toBe(200);
    emu.setSubscription(acc, 'studio-suite', 'pro', 'canceled');
    expect((await send('subscription-cancelled')).status).toBe(200);
    expect(await tier(app.url, acc)).toBe(403);
  });

  it('a payment failure turns the next request into a 402 with the payment link', async () => {
    emu.setAccount(acc, { customerEmail: 'co@example.com', subscriptions: [{ subscription: 'studio-suite', tier: 'pro' }] });
    gate.invalidate(acc);
    expect(await pay(app.url, acc)).toBe(200);
    emu.setSubscription(acc, 'studio-suite', 'pro', 'past_due');
    expect((await send('payment-failed')).status).toBe(200);
    expect(await pay(app.url, acc)).toBe(402);
  });

  it('refuses a forged signature and a stale timestamp with 401, leaving the cache alone', async () => {
    expect(await tier(app.url, acc)).toBe(403);
    emu.setSubscription(acc, 'studio-suite', 'pro', 'active');
    const forged = await send('subscription-updated', { secret: `whsec_${Buffer.from('not-the-secret').toString('base64')}` });
    const stale = await send('subscription-updated', { timestamp: Math.floor(Date.now() / 1000) - 3600 });
    expect([forged.status, stale.status]).toEqual([401, 401]);
    expect(await tier(app.url, acc)).toBe(403);
  });

  it('acknowledges a replay as a duplicate', async () => {
    const id = randomUUID();
    const first = await emu.sendWebhook(hook, { event: 'subscription-updated', account_ref_id: acc, transaction_id: id });
    const again = await emu.sendWebhook(hook, { event: 'subscription-updated', account_ref_id: acc, transaction_id: id });
    expect(JSON.parse(first.body)).toEqual({ received: true });
    expect(again.status).toBe(200);
    expect(JSON.parse(again.body)).toEqual({ received: true, duplicate: true });
  });

  it('answers 400 to a malformed payload, 413 to an oversized one and 405 to a GET', async () => {
    const id = `msg_${randomUUID()}`;
    const ts = Math.floor(Date.now() / 1000);
    const body = '{nope';
    const malformed = await fetch(hook, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...webhookHeaders({ secret: emu.webhookSecret, id, timestamp: ts, body }) },
      body,
    });
    expect(malformed.status).toBe(400);
    const bad = emu.buildWebhook({ event: 'subscription-updated', account_ref_id: '..' });
    const invalid = await fetch(hook, { method: 'POST', headers: bad.headers, body: bad.body });
    expect(invalid.status).toBe(400);
    const big = await fetch(hook, { method: 'POST', headers: { 'content-type': 'application/json' }, body: 'x'.repeat(80 * 1024) });
    expect(big.status).toBe(413);
    const wrong = await fetch(hook);
    expect(wrong.status).toBe(405);
  });

  if (fw !== 'fastify') {
    it('refuses to verify a body a parser already consumed, saying how to mount', async () => {
      const { body, headers } = emu.buildWebhook({ event: 'subscription-updated', account_ref_id: acc });
      const res = await fetch(`${app.url}/webhooks-after-parser`, { method: 'POST', headers, body });
      expect(res.status).toBe(500);
      expect(((await res.json()) as { error: string }).error).toMatch(/before express\.json\(\) \/ koa-bodyparser/);
    });
  } else {
    it('gets the raw bytes even though the app has its own JSON parser', async () => {
      const r = await send('subscription-updated');
      expect(r.status).toBe(200);
    });
  }

  it('verifies with either secret during a rotation, and refuses any other', async () => {
    const next = `whsec_${Buffer.from(`next-secret-${fw}-0123456789`).toString('base64')}`;
    const rotating = gateFor(emu, { webhookSecret: [next, emu.webhookSecret] });
    const local = await startApp(fw, rotating);
    try {
      const url = `${local.url}/webhooks/ecom9`;
      const old = await emu.sendWebhook(url, { event: 'subscription-updated', account_ref_id: acc });
      const rotated = await emu.sendWebhook(url, { event: 'subscription-updated', account_ref_id: acc }, { secret: next });
      const other = await emu.sendWebhook(
        url,
        { event: 'subscription-updated', account_ref_id: acc },
        { secret: `whsec_${Buffer.from('someone-else').toString('base64')}` },
      );
      expect([old.status, rotated.status, other.status]).toEqual([200, 200, 401]);
    } finally {
      await local.close();
      await rotating.close();
    }
  });
});
