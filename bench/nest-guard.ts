// `@RequireTier('pro')` warm, against a hand-written Nest guard doing one LRUCache.get: ns per call of
// canActivate, the two interleaved round by round, medians. Prints one JSON line (run.ts reads it);
// alone (`npx tsx bench/nest-guard.ts`) it starts its own emulator.
import { ExecutionContextHost } from '@nestjs/core/helpers/execution-context-host.js';
import type { CanActivate, ExecutionContext } from '@nestjs/common';
import { LRUCache } from 'lru-cache';
import { createGate } from 'ecom9-gate';
import { createEmulator } from 'ecom9-gate/emulator';
import { Ecom9Guard, RequireTier } from 'ecom9-gate/nest';
import { Ecom9Runtime } from '../adapters/nest/runtime';
import { median, quick } from './lib';

class Controller {
  report() {
    return 'ok';
  }
}
RequireTier('pro')(Controller.prototype, 'report', Object.getOwnPropertyDescriptor(Controller.prototype, 'report') as PropertyDescriptor);

/** What a team writes by hand: one cache lookup of the account's tier. */
class HandGuard implements CanActivate {
  constructor(private readonly cache: LRUCache<string, string>) {}
  canActivate(ctx: ExecutionContext): boolean {
    const req = ctx.switchToHttp().getRequest();
    return this.cache.get(req.headers['x-account']) === 'pro';
  }
}

const emu = process.env.EMU_URL ? undefined : createEmulator();
const url = process.env.EMU_URL ?? (await emu?.listen(0, '127.0.0.1'));
const gate = createGate({ apiKey: process.env.EMU_KEY ?? emu?.apiKey, baseUrl: url, logger: { warn: () => {} } });
const ours = new Ecom9Guard(new Ecom9Runtime({ gate, accountRefId: (req) => req.headers['x-account'] }));
const cache = new LRUCache<string, string>({ max: 10_000, ttl: 60_000 });
cache.set('acme', 'pro');
const hand = new HandGuard(cache);

const headers = { 'x-account': 'acme' };
const noop = () => {};
/** A new request and context, as Nest makes per request: the guard marks the request it has seen. */
function contextOf(): ExecutionContextHost {
  const ctx = new ExecutionContextHost([{ headers, method: 'GET', url: '/report' }, {}, noop], Controller, Controller.prototype.report);
  ctx.setType('http');
  return ctx;
}
const ctx = contextOf();

if ((await ours.canActivate(ctx)) !== true) throw new Error('the demo account acme should be on pro');
if (ours.canActivate(contextOf()) !== true) throw new Error('a warm @RequireTier should answer synchronously');

const calls = quick ? 20_000 : 50_000;
const rounds = quick ? 11 : 41;
function time(guard: CanActivate): number {
  const t = process.hrtime.bigint();
  for (let i = 0; i < calls; i++) {
    // A fresh request each call, on both sides: the same object would be 'already guarded' for ours.
    if (guard.canActivate(contextOf()) !== true) throw new Error('denied');
  }
  return Number(process.hrtime.bigint() - t) / calls;
}
for (let i = 0; i < 3; i++) time(ours), time(hand); // JIT warm-up
const oursNs: number[] = [];
const handNs: number[] = [];
const ratios: number[] = [];
for (let i = 0; i < rounds; i++) {
  let o: number;
  let h: number;
  if (i % 2 === 0) {
    o = time(ours);
    h = time(hand);
  } else {
    h = time(hand);
    o = time(ours);
  }
  oursNs.push(o);
  handNs.push(h);
  ratios.push(o / h);
}
const result = { requireTierNs: median(oursNs), handGuardNs: median(handNs), ratio: median(ratios) };
process.stdout.write(`${JSON.stringify(result)}\n`);
await gate.close();
await emu?.close();
