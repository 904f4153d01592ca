// The route decorators: each only records what the route needs (metadata); the module's guard and
// interceptor read it. `@Ecom9()` hands a handler the state the guard left on the request.
import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { EntitlementCheckOptions } from '../../src/gate/access';
import type { TierCheckOptions } from '../../src/gate/tier-rule';
import type { ChargeOptions, Ecom9State } from '../../src/middleware/guards';
import type { MeterOptions } from '../../src/middleware/meter';
import type { ReserveRouteOptions } from '../../src/middleware/reserve';

/** The metadata key: a list of specs per handler or controller, in the order written. */
export const ECOM9_ROUTE = 'ecom9-gate:route';

// Nest's request and response differ by platform (Express or Fastify); a function option receives
// the platform's own object.
// biome-ignore lint/suspicious/noExplicitAny: the platform's request type is the user's to name
export type NestRequest = any;
// biome-ignore lint/suspicious/noExplicitAny: likewise for the response
export type NestResponse = any;

export type RouteSpec =
  | { kind: 'tier'; tiers: string | readonly string[]; opts: Omit<TierCheckOptions, 'tiers'> }
  | { kind: 'entitlement'; opts: EntitlementCheckOptions }
  | { kind: 'charge'; opts: ChargeOptions<NestRequest> }
  | { kind: 'reserve'; opts: ReserveRouteOptions<NestRequest> }
  | { kind: 'meter'; opts: MeterOptions<NestRequest, NestResponse> };

/**
 * Appends a spec to the handler's (or the controller's) list. Not SetMetadata: that replaces, and a
 * route may carry two charges or two meters. Decorators run bottom-up, hence unshift.
 */
function addSpec(spec: RouteSpec): MethodDecorator & ClassDecorator {
  return (target: object, _key?: string | symbol, descriptor?: PropertyDescriptor) => {
    const holder = (descriptor?.value ?? target) as object;
    const list: RouteSpec[] = Reflect.getMetadata(ECOM9_ROUTE, holder) ?? [];
    Reflect.defineMetadata(ECOM9_ROUTE, [spec, ...list], holder);
  };
}

/** Only accounts with an active subscription on one of `tiers` (or `atLeast` and above) pass. */
export const RequireTier = (tiers: string | readonly string[], opts: Omit<TierCheckOptions, 'tiers'> = {}) => addSpec({ kind: 'tier', tiers, opts });

/** Only accounts that hold `entitlement` of `product` pass. */
export const RequireEntitlement = (product: string, entitlement: string, opts: Omit<EntitlementCheckOptions, 'product' | 'entitlement'> = {}) =>
  addSpec({ kind: 'entitlement', opts: { ...opts, product, entitlement } });

/** Debits credits before the handler (402 when short); a retried Idempotency-Key is charged once. */
export const ChargeCredits = (opts: ChargeOptions<NestRequest>) => addSpec({ kind: 'charge', opts });

/** Reserves credits before the handler (402 when short); the handler uses `@Ecom9() state` `state.hold.use(n)`, settled once the response is finished. */
export const ReserveCredits = (opts: ReserveRouteOptions<NestRequest>) => addSpec({ kind: 'reserve', opts });

/** Records usage once the response is finished, when it counts (status < 400 by default). */
export const MeterUsage = (opts: MeterOptions<NestRequest, NestResponse>) => addSpec({ kind: 'meter', opts });

/** The handler's ecom9 state: `reports(@Ecom9() state: Ecom9State)`. */
export const Ecom9 = createParamDecorator(
  (_data: unknown, ctx: ExecutionContext): Ecom9State | undefined => ctx.switchToHttp().getRequest().ecom9 ?? undefined,
);
