// Type-level checks (run by `npm run typecheck`, which covers test/): what a handler reads is typed by
// module augmentation, with no casts.
import { expectTypeOf, it } from 'vitest';
import type { Request, RequestHandler } from 'express';
import type { Context } from 'koa';
import type { FastifyRequest } from 'fastify';
import type { Decision, DecisionSource, DenialCode, Gate } from 'ecom9-gate';
import type {} from 'ecom9-gate/express';
import type {} from 'ecom9-gate/koa';
import type { FastifyDeniedHandler, FastifyEcom9 } from 'ecom9-gate/fastify';
import type { Ecom9State, ExpressGate } from 'ecom9-gate/express';
import type { KoaGate } from 'ecom9-gate/koa';
import type { HonoGate } from 'ecom9-gate/hono';
import type { FetchGate } from 'ecom9-gate/fetch';
import { RequireTier } from 'ecom9-gate/nest';

it('types req.ecom9, ctx.state.ecom9 and request.ecom9 as an ungated route has them: maybe absent', () => {
  expectTypeOf<Request['ecom9']>().toEqualTypeOf<Ecom9State | undefined>();
  expectTypeOf<NonNullable<Request['ecom9']>['decision']>().toEqualTypeOf<Decision | undefined>();
  expectTypeOf<Context['state']['ecom9']>().toEqualTypeOf<Ecom9State | undefined>();
  expectTypeOf<FastifyRequest['ecom9']>().toEqualTypeOf<Ecom9State | null>();
  expectTypeOf<NonNullable<FastifyRequest['ecom9']>['credits']>().toEqualTypeOf<
    { debited: number; remainingBalance: number | undefined; eventKey: string } | undefined
  >();
  expectTypeOf<Decision['source']>().toEqualTypeOf<DecisionSource>();
  expectTypeOf<Gate['checkTier']>().returns.resolves.toEqualTypeOf<Decision>();
});

it("gives Fastify's onDenied a next, as Express and Koa have, and names the invalid_quantity code", () => {
  expectTypeOf<Parameters<FastifyDeniedHandler>[3]>().toEqualTypeOf<(err?: Error) => void>();
  expectTypeOf<'invalid_quantity'>().toExtend<DenialCode>();
});

it('reads the state of a gated route as present, through gated(req), on every adapter', () => {
  expectTypeOf<ExpressGate['gated']>().returns.toEqualTypeOf<Ecom9State>();
  expectTypeOf<KoaGate['gated']>().returns.toEqualTypeOf<Ecom9State>();
  expectTypeOf<FastifyEcom9['gated']>().returns.toEqualTypeOf<Ecom9State>();
  expectTypeOf<HonoGate['gated']>().returns.toEqualTypeOf<Ecom9State>();
  expectTypeOf<FetchGate['gated']>().returns.toEqualTypeOf<Ecom9State>();
});

it('accepts requireTier(undefined, { atLeast }) as documented, and nothing else without tiers', () => {
  const e = {} as ExpressGate;
  expectTypeOf(e.requireTier(undefined, { atLeast: 'pro' })).toEqualTypeOf<RequestHandler>();
  // @ts-expect-error: without tiers, atLeast is required
  e.requireTier(undefined, { subscription: 'studio-suite' });
  // @ts-expect-error: without tiers, options are required
  e.requireTier(undefined);
  const k = {} as KoaGate;
  expectTypeOf(k.requireTier(undefined, { atLeast: 'pro', subscription: 'studio-suite' })).toEqualTypeOf<ReturnType<KoaGate['meterUsage']>>();
  expectTypeOf(RequireTier(undefined, { atLeast: 'pro' })).toExtend<MethodDecorator>();
  // @ts-expect-error: a misspelt option is a type error too (and an OptionsError at run time)
  e.requireTier('pro', { subscripton: 'studio-suite' });
});
