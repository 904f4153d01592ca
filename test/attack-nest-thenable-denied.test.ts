// Attack: Nest's onDenied may be async (docs/denials.md: "a promise of true"). One returning a
// thenable that is not a native promise (a minimal `{ then }`, as some libraries make) whose then()
// returns nothing left the guard's step with `undefined`, which it took as "go on": the denied
// request reached the handler whatever the thenable settled to (false, or a rejection).
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { Controller, Get, type INestApplication } from '@nestjs/common';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Emulator } from 'ecom9-gate/emulator';
import type { Gate } from 'ecom9-gate';
import { Ecom9Module, RequireTier, type NestDeniedHandler } from 'ecom9-gate/nest';
import { gateFor, startEmulator } from './support/env';
import { seedScenario, testFixtures } from './support/apps';

let ran = 0;
@Controller()
class TierController {
  @Get('top')
  @RequireTier('enterprise')
  top() {
    ran++;
    return { ran: true };
  }
}

let emu: Emulator;
beforeAll(async () => {
  emu = await startEmulator({ fixtures: testFixtures() });
});
afterAll(async () => {
  await emu.close();
});

/** A thenable settling later, its then() returning nothing. */
const later =
  (settle: 'false' | 'reject'): NestDeniedHandler =>
  () => ({
    // biome-ignore lint/suspicious/noThenProperty: the attack is a bare thenable
    then(resolve: (v: unknown) => void, reject: (e: unknown) => void) {
      setTimeout(() => (settle === 'false' ? resolve(false) : reject(new Error('onDenied failed'))), 20);
    },
  });

describe.each([
  ['express', 'false'],
  ['express', 'reject'],
  ['fastify', 'false'],
] as const)('Nest (%s) onDenied returning a bare thenable settling to %s', (platform, settle) => {
  let gate: Gate;
  let app: INestApplication;
  let url: string;
  beforeAll(async () => {
    gate = gateFor(emu);
    const ref = await Test.createTestingModule({
      imports: [Ecom9Module.forRoot({ gate, accountRefId: (req) => String(req.headers['x-account']), onDenied: later(settle) })],
      controllers: [TierController],
    }).compile();
    app = platform === 'fastify' ? ref.createNestApplication(new FastifyAdapter(), { logger: false }) : ref.createNestApplication({ logger: false });
    await app.listen(0, '127.0.0.1');
    url = `http://127.0.0.1:${((app.getHttpServer() as Server).address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await app.close();
    await gate.close();
  });
  beforeEach(() => {
    seedScenario(emu);
    ran = 0;
  });

  it('the denied request never reaches the handler', async () => {
    const res = await fetch(`${url}/top`, { headers: { 'x-account': 'free-co' } });
    expect(res.status).toBe(settle === 'false' ? 403 : 500);
    expect(ran).toBe(0);
  });
});
