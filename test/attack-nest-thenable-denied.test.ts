import { Controller, Get } from '@nestjs/common';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Emulator } from 'ecom9-gate/emulator';
import type { Gate } from 'ecom9-gate';
import { RequireTier, type NestDeniedHandler } from 'ecom9-gate/nest';
import { gateFor, startEmulator } from './support/env';
import { seedScenario, testFixtures } from './support/apps';
import { startNestModuleApp, type RunningNest } from './support/nest-app';

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
  let app: RunningNest;
  beforeAll(async () => {
    gate = gateFor(emu);
    app = await startNestModuleApp(platform, { gate, accountRefId: (req) => String(req.headers['x-account']), onDenied: later(settle) }, [TierController]);
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
    const res = await fetch(`${app.url}/top`, { headers: { 'x-account': 'free-co' } });
    expect(res.status).toBe(settle === 'false' ? 403 : 500);
    expect(ran).toBe(0);
  });
});
