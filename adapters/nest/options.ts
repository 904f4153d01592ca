// What the module is given and what a denial becomes: the options, the runtime's token, and the
// HttpException a denial is thrown as.
import { HttpException, type ExecutionContext } from '@nestjs/common';
import type { DeniedDecision, Gate } from '../../src/index';
import type { AdapterOptions } from '../../src/middleware/adapter-options';
import type { NestRequest } from './decorators';

/**
 * Answers a denial differently: throw your own exception, or return true to let the request on (the
 * denial in `@Ecom9()`). May be async: the guard awaits it, and a rejection goes to Nest's filters.
 */
export type NestDeniedHandler = (decision: DeniedDecision, context: ExecutionContext) => unknown;

/** The token of the module's runtime (what Ecom9Guard is built from when an app applies it with @UseGuards). */
export const ECOM9_RUNTIME = Symbol.for('ecom9-gate:runtime');

/** `accountRefId` gets the platform's request (Express or Fastify), e.g. `(req) => req.user?.orgId`. */
export interface Ecom9ModuleOptions extends AdapterOptions<NestRequest, NestDeniedHandler> {
  gate: Gate;
}

/** A denial as a Nest HttpException: the problem+json body, its status and headers (also set on the response). */
export class Ecom9DeniedException extends HttpException {
  constructor(
    readonly decision: DeniedDecision,
    readonly headers: Record<string, string>,
    body: object,
  ) {
    super(body, decision.status);
  }
}
