// Attack: Nest on Express, created on the app's own express instance that already parses JSON
// (the common `express.json({ verify })` raw-body pattern, or any parser the app mounted before
// NestFactory). The webhook reader (adapters/nest/webhook-body.ts) runs after that parser, on a
// stream already read to its end: it must not wait for an 'end' that already came (a signed
// delivery answered 408 after the body timeout, every time), but hand over to the route, which
// takes the bytes the app kept (req.rawBody) as the other routers do.
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExpressAdapter } from '@nestjs/platform-express';
import { Test } from '@nestjs/testing';
import type { INestApplication } from '@nestjs/common';
import { Ecom9Module } from 'ecom9-gate/nest';
import { sharedGateEnv } from './support/gate-env';

describe('Nest (Express) webhook route behind a JSON parser the app mounted first', () => {
  const env = sharedGateEnv({ gate: { webhooks: { bodyTimeoutMs: 1500 } } });
  let app: INestApplication;
  let url: string;
  beforeAll(async () => {
    const server = express();
    server.use(express.json({ verify: (req, _res, buf) => Object.assign(req, { rawBody: buf }) }));
    const ref = await Test.createTestingModule({
      imports: [Ecom9Module.forRoot({ gate: env.gate, accountRefId: () => 'acc', webhookPath: '/webhooks/ecom9' })],
    }).compile();
    app = ref.createNestApplication(new ExpressAdapter(server), { rawBody: true, logger: false });
    await app.listen(0, '127.0.0.1');
    url = `http://127.0.0.1:${((app.getHttpServer() as Server).address() as AddressInfo).port}/webhooks/ecom9`;
  });
  afterAll(async () => {
    await app?.close();
  });

  it('a signed delivery is verified on the bytes the app kept, not held until a 408', async () => {
    const started = Date.now();
    env.emu.setAccount('acc', { customerEmail: 'a@example.com', subscriptions: [{ subscription: 'studio-suite', tier: 'starter' }] });
    const res = await env.emu.sendWebhook(url, { event: 'subscription-updated', account_ref_id: 'acc' });
    expect(res.status).toBe(200);
    expect(Date.now() - started).toBeLessThan(1000);
  });
});
