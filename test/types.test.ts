// Type-level checks (run by `npm run typecheck`, which covers test/): what a handler reads is typed by
// module augmentation, with no casts.
import { expectTypeOf, it } from 'vitest';
import type { Request } from 'express';
import type { Context } from 'koa';
import type { FastifyRequest } from 'fastify';
import type { Decision, DecisionSource, DenialCode, Gate } from 'ecom9-gate';
import type {} from 'ecom9-gate/express';
import type {} from 'ecom9-gate/koa';
import type { FastifyDeniedHandler } from 'ecom9-gate/fastify';

it('types req.ecom9, ctx.state.ecom9 and request.ecom9 without casts', () => {
  expectTypeOf<Request['ecom9']['decision']>().toEqualTypeOf<Decision | undefined>();
  expectTypeOf<Context['state']['ecom9']['accountRefId']>().toEqualTypeOf<string | undefined>();
  expectTypeOf<FastifyRequest['ecom9']['credits']>().toEqualTypeOf<{ debited: number; remainingBalance: number | undefined; eventKey: string } | undefined>();
  expectTypeOf<Decision['source']>().toEqualTypeOf<DecisionSource>();
  expectTypeOf<Gate['checkTier']>().returns.resolves.toEqualTypeOf<Decision>();
});

it("gives Fastify's onDenied a next, as Express and Koa have, and names the invalid_quantity code", () => {
  expectTypeOf<Parameters<FastifyDeniedHandler>[3]>().toEqualTypeOf<(err?: Error) => void>();
  expectTypeOf<'invalid_quantity'>().toExtend<DenialCode>();
});
