// Attack: a Nest route checked then charged (@RequireTier + @ChargeCredits) whose onDenied lets a
// denied request on (`true`, or a promise of `true`, as docs/denials.md allows). On every other
// adapter letting a denial through is `next()`: the route's next middleware (its charge) still runs.
// Nest's guard stopped at the let-through step, so the paid handler ran with no debit at all. And on
// every adapter the charge's allow then replaced the denial the handler reads (docs/denials.md).
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import express from 'express';
import { expressGate } from 'ecom9-gate/express';
import { Controller, HttpCode, Post } from '@nestjs/common';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Emulator } from 'ecom9-gate/emulator';
import type { Gate } from 'ecom9-gate';
import { ChargeCredits, Ecom9, RequireTier, type Ecom9State } from 'ecom9-gate/nest';
import { gateFor, startEmulator } from './support/env';
import { seedScenario, testFixtures } from './support/apps';
import { startNestModuleApp, type RunningNest } from './support/nest-app';
import { charge } from './support/web-apps';

@Controller()
class PaidController {
  @Post('soft-paid')
  @HttpCode(200)
  @RequireTier('enterprise')
  @ChargeCredits(charge)
  paid(ecom9: Ecom9State) {
    return { ran: true, code: ecom9.decision?.code ?? null };
  }
}
// @Ecom9() on its parameter, applied by hand (biome parses parameter decorators only in test/support/nest-*).
Ecom9()(PaidController.prototype, 'paid', 0);

let emu: Emulator;
beforeAll(async () => {
  emu = await startEmulator({ fixtures: testFixtures() });
});
afterAll(async () => {
  await emu.close();
});

describe.each([
  ['express', 'sync'],
  ['express', 'async'],
  ['fastify', 'async'],
] as const)('Nest (%s) soft tier denial (%s onDenied) before a charge', (platform, mode) => {
  let gate: Gate;
  let app: RunningNest;
  beforeAll(async () => {
    gate = gateFor(emu);
    const onDenied = mode === 'sync' ? () => true : async () => true;
    app = await startNestModuleApp(platform, { gate, accountRefId: (req) => String(req.headers['x-account']), onDenied }, [PaidController]);
  });
  afterAll(async () => {
    await app.close();
    await gate.close();
  });
  beforeEach(() => seedScenario(emu));

  it('the handler a denial was let on to is still charged', async () => {
    const res = await fetch(`${app.url}/soft-paid`, { method: 'POST', headers: { 'x-account': 'free-co' } });
    expect(res.status).toBe(200);
    // The denial let through stays the one the handler reads (docs/denials.md), not the charge's allow:
    // a handler serving a degraded answer on it must not be told the caller is entitled.
    expect(await res.json()).toEqual({ ran: true, code: 'tier_required' });
    expect(emu.credits('free-co', 'ai-images', 'credits')).toBe(12 - 5);
  });

  it('a let-through request short of credits is still refused its charge (402)', async () => {
    emu.setCredits('free-co', 'ai-images', 'credits', 1);
    const res = await fetch(`${app.url}/soft-paid`, { method: 'POST', headers: { 'x-account': 'free-co' } });
    // The charge's own denial goes to the same onDenied, which lets it on too: ran, nothing debited.
    expect(res.status).toBe(200);
    expect(emu.credits('free-co', 'ai-images', 'credits')).toBe(1);
  });
});

describe('Express: soft tier denial before a charge', () => {
  let gate: Gate;
  let server: Server;
  let url: string;
  beforeAll(async () => {
    gate = gateFor(emu);
    const e = expressGate(gate, { accountRefId: (req) => String(req.headers['x-account']) });
    const app = express();
    app.post('/soft-paid', e.requireTier('enterprise', { onDenied: (_req, _res, _d, next) => next() }), e.chargeCredits(charge), (req, res) => {
      res.json({ ran: true, code: e.gated(req).decision?.code ?? null });
    });
    server = app.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((r) => server.close(r));
    await gate.close();
  });
  beforeEach(() => seedScenario(emu));

  it('is charged, and the handler still reads the denial it was let on with', async () => {
    const res = await fetch(`${url}/soft-paid`, { method: 'POST', headers: { 'x-account': 'free-co' } });
    expect(await res.json()).toEqual({ ran: true, code: 'tier_required' });
    expect(emu.credits('free-co', 'ai-images', 'credits')).toBe(12 - 5);
  });
});
