// The options every adapter takes, stated once: each framework's options (ExpressGateOptions,
// KoaGateOptions, FastifyGateOptions, ...) extend AdapterOptions with its own request and onDenied.
import type { AccountResolver } from './guards';

export interface AdapterOptions<Req, Denied> {
  /**
   * The ecom9 account ref of a request, e.g. `(req) => req.user?.orgId` (Koa: `(ctx) => ...`); may
   * return a promise. Nothing resolved answers 401 `account_unresolved`.
   */
  accountRefId: AccountResolver<Req>;
  /** Answers a denial differently; the default sends application/problem+json. A route's own `onDenied` wins. */
  onDenied?: Denied;
  /**
   * A resolver that throws or rejects: `'deny'` answers 401 `account_unresolved` and reports the
   * error to the gate's `onError`; `'throw'` hands the error to the framework's error path (Express
   * `next(err)`, Koa and Hono throw, Fastify's error handler, Nest's exception filters, fetch a 500
   * problem+json, reported). Never an allow either way. @default 'deny'
   */
  resolverError?: 'deny' | 'throw';
}
