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
}

/** What a single route's middleware may override of the adapter's options. */
export type PerRouteOptions<Denied> = Pick<AdapterOptions<unknown, Denied>, 'onDenied'>;
