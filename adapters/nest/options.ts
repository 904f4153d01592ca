// What the module is given and what a denial becomes: the options, the runtime's token, and the
// HttpException a denial is thrown as.
import { HttpException, type ExecutionContext } from '@nestjs/common';
import type { Decision, Gate } from '../../src/index';
import type { AccountResolver } from '../../src/middleware/guards';
import type { NestRequest } from './decorators';

/** Answers a denial differently: throw your own exception, or return true to let the request on (the denial in `@Ecom9()`). */
export type NestDeniedHandler = (decision: Decision, context: ExecutionContext) => unknown;

/** The token of the module's runtime (what Ecom9Guard is built from when an app applies it with @UseGuards). */
export const ECOM9_RUNTIME = Symbol.for('ecom9-gate:runtime');

export interface Ecom9ModuleOptions {
  gate: Gate;
  /** The ecom9 account ref of a request, e.g. `(req) => req.user?.orgId`. Nothing resolved answers 401. */
  accountRefId: AccountResolver<NestRequest>;
  onDenied?: NestDeniedHandler;
}

/** A denial as a Nest HttpException: the problem+json body, its status and headers (also set on the response). */
export class Ecom9DeniedException extends HttpException {
  constructor(
    readonly decision: Decision,
    readonly headers: Record<string, string>,
    body: object,
  ) {
    super(body, decision.status);
  }
}
