// NestJS adapter: Ecom9Module (forRoot / forRootAsync) and route decorators that only record what a
// route needs; one guard and one interceptor read them. Runs on @nestjs/platform-express and -fastify.
export { ChargeCredits, Ecom9, MeterUsage, RequireEntitlement, RequireTier, ReserveCredits, ECOM9_ROUTE } from './nest/decorators';
export { Ecom9Module, ECOM9_OPTIONS, type Ecom9AsyncOptions, type Ecom9ForRootOptions, type Ecom9RouteOptions } from './nest/module';
export { Ecom9DeniedException, type Ecom9ModuleOptions, type NestDeniedHandler } from './nest/options';
export { Ecom9Guard, Ecom9Interceptor } from './nest/runtime';
export { ECOM9_GATE } from './nest/webhook';
export type { NestRequest, NestResponse } from './nest/decorators';
export type { Ecom9State } from '../src/middleware/guards';
// Every core type (src/types.ts), so a type this subpath's signatures name (and what those name in
// turn) is imported from here as from ecom9-gate.
export type * from '../src/types';
