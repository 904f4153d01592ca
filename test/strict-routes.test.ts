// Every adapter's per-route options are strict: a misspelt key throws an OptionsError where the
// route is defined, naming it and the nearest known key, instead of silently dropping a restriction
// (`subscripton` made requireTier answer 200 for an account without that subscription).
import express from 'express';
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ArgumentError, createGate, OptionsError, UnknownNameError, type Gate } from 'ecom9-gate';
import { expressGate } from 'ecom9-gate/express';
import { fastifyGate } from 'ecom9-gate/fastify';
import { fetchGate } from 'ecom9-gate/fetch';
import { honoGate } from 'ecom9-gate/hono';
import { koaGate } from 'ecom9-gate/koa';
import { ChargeCredits, MeterUsage, RequireEntitlement, RequireTier } from 'ecom9-gate/nest';
import { gateEnv } from './support/gate-env';

let gate: Gate;
beforeAll(() => {
  gate = createGate({ apiKey: 'k', baseUrl: 'http://127.0.0.1:9/api/', logger: { warn: () => {} } });
});
afterAll(() => gate.close());

interface Middlewares {
  requireTier(tiers: string, opts?: object): unknown;
  requireEntitlement(product: string, entitlement: string, opts?: object): unknown;
  chargeCredits(opts: object): unknown;
  meterUsage(opts: object): unknown;
}

const adapters: Array<[string, () => Promise<Middlewares>]> = [
  ['express', async () => expressGate(gate, { accountRefId: () => 'acme' })],
  ['koa', async () => koaGate(gate, { accountRefId: () => 'acme' })],
  ['hono', async () => honoGate(gate, { accountRefId: () => 'acme' })],
  ['fetch', async () => fetchGate(gate, { accountRefId: () => 'acme' })],
  [
    'fastify',
    async () => {
      const app = Fastify();
      await app.register(fastifyGate, { gate, accountRefId: () => 'acme' });
      return app.ecom9;
    },
  ],
];

function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected a throw');
}

describe.each(adapters)('%s: a misspelt route option', (_name, make) => {
  it('requireTier("pro", { subscripton }) throws where the route is defined, naming it and "subscription"', async () => {
    const m = await make();
    const e = thrown(() => m.requireTier('pro', { subscripton: 'studio-suite' }));
    expect(e).toBeInstanceOf(OptionsError);
    expect(e.message).toContain('requireTier: unknown option "subscripton" (did you mean "subscription"?)');
    expect(() => m.requireTier('pro', { subscription: 'studio-suite', onDenied: undefined })).not.toThrow();
  });

  it('chargeCredits({ qty: 5 }), requireEntitlement and meterUsage name theirs too', async () => {
    const m = await make();
    expect(thrown(() => m.chargeCredits({ product: 'ai-images', meter: 'credits', qty: 5 })).message).toContain(
      'chargeCredits: unknown option "qty" (did you mean "quantity"?)',
    );
    expect(thrown(() => m.requireEntitlement('pro-api', 'api_access', { failmode: 'open' })).message).toContain(
      'unknown option "failmode" (did you mean "failMode"?)',
    );
    expect(thrown(() => m.meterUsage({ product: 'api-access', meter: 'api_calls', meteraborted: true })).message).toContain(
      'unknown option "meteraborted" (did you mean "meterAborted"?)',
    );
  });
});

describe("an adapter's own options are strict too", () => {
  it('expressGate, koaGate, honoGate, fetchGate, fastifyGate name a misspelt option', async () => {
    expect(() => expressGate(gate, { accountRefId: () => 'acme', ondenied: () => {} } as never)).toThrow(
      'expressGate: unknown option "ondenied" (did you mean "onDenied"?)',
    );
    expect(() => koaGate(gate, { accountRefId: () => 'acme', resolverErrors: 'deny' } as never)).toThrow('(did you mean "resolverError"?)');
    expect(() => honoGate(gate, { accountRefId: () => 'acme', onDenid: () => {} } as never)).toThrow('(did you mean "onDenied"?)');
    expect(() => fetchGate(gate, { accountRefId: () => 'acme', onDenid: () => {} } as never)).toThrow('(did you mean "onDenied"?)');
    const app = Fastify();
    await expect(app.register(fastifyGate, { gate, accountRefId: () => 'acme', webhookpath: '/w' } as never)).rejects.toThrow(
      'fastifyGate: unknown option "webhookpath" (did you mean "webhookPath"?)',
    );
  });
});

describe('gated(req): the state of a gated route, typed present', () => {
  it('throws an ArgumentError saying what to do on a request no ecom9 middleware ran for', () => {
    const e = expressGate(gate, { accountRefId: () => 'acme' });
    const req = {} as express.Request;
    expect(() => e.gated(req)).toThrow(ArgumentError);
    expect(() => e.gated(req)).toThrow('expressGate gated(req): no ecom9 middleware ran for this request');
    req.ecom9 = { accountRefId: 'acme', decision: undefined };
    expect(e.gated(req).accountRefId).toBe('acme');
  });
});

describe('nest: the decorators check their options where they are written', () => {
  it('@RequireTier, @RequireEntitlement, @ChargeCredits, @MeterUsage', () => {
    expect(() => RequireTier('pro', { subscripton: 'x' } as never)).toThrow('@RequireTier: unknown option "subscripton" (did you mean "subscription"?)');
    expect(() => RequireEntitlement('pro-api', 'api_access', { failmode: 'open' } as never)).toThrow('(did you mean "failMode"?)');
    expect(() => ChargeCredits({ product: 'ai-images', meter: 'credits', qty: 5 } as never)).toThrow('unknown option "qty" (did you mean "quantity"?)');
    expect(() => MeterUsage({ product: 'api-access', meter: 'api_calls', wen: () => true } as never)).toThrow('(did you mean "when"?)');
    // onDenied is not a Nest route option: denials go through Nest's exception filters.
    expect(() => RequireTier('pro', { onDenied: () => {} } as never)).toThrow(OptionsError);
  });
});

describe('a name ecom9 does not know, reported with the route that showed it', () => {
  it('express: requireTier("Pro") on GET /reports/:id', async () => {
    await using env = await gateEnv();
    const { gate: g, reported } = env;
    const ecom9 = expressGate(g, { accountRefId: (req) => req.get('x-account') });
    const app = express();
    app.get('/reports/:id', ecom9.requireTier('Pro'), (_req, res) => void res.json({ ok: true }));
    const server = app.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    try {
      const { port } = server.address() as { port: number };
      for (const ref of ['acme', 'globex']) {
        expect((await fetch(`http://127.0.0.1:${port}/reports/1`, { headers: { 'x-account': ref } })).status).toBe(403);
      }
      await vi.waitFor(() => expect(reported).toHaveLength(1));
      expect(reported[0]).toBeInstanceOf(UnknownNameError);
      expect(reported[0]).toMatchObject({ label: 'Pro', suggestion: 'pro', route: 'GET /reports/:id' });
    } finally {
      server.close();
    }
  });
});
