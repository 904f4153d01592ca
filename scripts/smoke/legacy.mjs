// Express 4 and Koa 2, the oldest majors the peer ranges allow, with the packed package: allow, deny,
// an idempotent charge, and a signed webhook seen by the next request.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createGate } from 'ecom9-gate';
import { createEmulator } from 'ecom9-gate/emulator';
import { expressGate } from 'ecom9-gate/express';
import { koaGate } from 'ecom9-gate/koa';
import express from 'express';
import Koa from 'koa';

const emu = createEmulator();
await emu.listen(0);
const listen = (server) => new Promise((r) => server.once('listening', () => r(`http://127.0.0.1:${server.address().port}`)));

async function exercise(name, url, gate, account) {
  const get = (who) => fetch(`${url}/reports`, { headers: { 'x-account-id': who } }).then((r) => r.status);
  const charge = () => fetch(`${url}/images`, { method: 'POST', headers: { 'x-account-id': account, 'idempotency-key': `k-${name}` } }).then((r) => r.status);
  assert.equal(await get(account), 200, `${name}: allowed`);
  assert.equal(await get('globex'), 403, `${name}: denied`);
  assert.equal(await charge(), 200, `${name}: charged`);
  assert.equal(await charge(), 200, `${name}: charged again, same key`);
  assert.equal(emu.credits(account, 'ai-images', 'credits'), 5, `${name}: one debit for one idempotency key`);
  emu.setSubscription(account, 'studio-suite', 'pro', 'canceled');
  assert.equal((await emu.sendWebhook(`${url}/webhooks/ecom9`, { event: 'subscription-cancelled', account_ref_id: account })).status, 200, `${name}: webhook`);
  assert.equal(await get(account), 403, `${name}: denied after the webhook`);
  await gate.close();
}

for (const name of ['express', 'koa']) {
  const account = `legacy-${name}`;
  emu.setAccount(account, { subscriptions: [{ subscription: 'studio-suite', tier: 'pro' }] });
  emu.setCredits(account, 'ai-images', 'credits', 10);
  const gate = createGate({ apiKey: emu.apiKey, baseUrl: emu.url, webhookSecret: emu.webhookSecret, logger: { warn() {} } });
  const charge = { product: 'ai-images', meter: 'credits', quantity: 5 };
  let server;
  if (name === 'express') {
    const e = expressGate(gate, { accountRefId: (req) => req.get('x-account-id') });
    const app = express();
    app.use('/webhooks/ecom9', e.webhookRouter());
    app.get('/reports', e.requireTier('pro'), (_req, res) => res.json({ ok: true }));
    app.post('/images', e.chargeCredits(charge), (_req, res) => res.json({ ok: true }));
    server = app.listen(0, '127.0.0.1');
  } else {
    const k = koaGate(gate, { accountRefId: (ctx) => ctx.get('x-account-id') || undefined });
    const app = new Koa();
    app.use(k.webhookRouter({ path: '/webhooks/ecom9' }));
    const tier = k.requireTier('pro');
    const credits = k.chargeCredits(charge);
    app.use((ctx, next) => (ctx.path === '/reports' ? tier(ctx, next) : credits(ctx, next)));
    app.use((ctx) => {
      ctx.body = { ok: true };
    });
    server = app.listen(0, '127.0.0.1');
  }
  await exercise(name, await listen(server), gate, account);
  server.close();
}
await emu.close();
const version = (pkg) => JSON.parse(readFileSync(`node_modules/${pkg}/package.json`, 'utf8')).version;
console.log(`express ${version('express')} and koa ${version('koa')}: ok`);
