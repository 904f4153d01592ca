// Web-standard adapter: each guard wraps a `(req: Request, ...rest) => Response` handler (Next.js
// route handlers and proxy, Bun.serve, Deno.serve, Cloudflare-style workers). Its binding over the
// shared builder (src/middleware/builder.ts), the state kept on the request, the account routes and
// the webhook handler.
import type { Gate } from '../src/index';
import type { AdapterOptions } from '../src/middleware/adapter-options';
import { buildMiddlewares, type GateMiddlewares } from '../src/middleware/builder';
import type { Ecom9State } from '../src/middleware/guards';
import { fetchBinding, type FetchDeniedHandler, type FetchGuard, type FetchHandler } from './fetch/binding';
import { isRequest, webhookEndpoint } from '../src/middleware/web';
import type { WebhookRouterOptions } from '../src/middleware/webhook-route';
import { accountRoutesCore, checkPrefix, type AccountRoutesOptions } from '../src/middleware/account-routes';
import { serveWeb } from '../src/middleware/account-routes-io';

/** `accountRefId` gets the Request, e.g. `(req) => req.headers.get('x-org-id')`. */
export interface FetchGateOptions extends AdapterOptions<Request, FetchDeniedHandler> {}

/** What fetchGate returns: the four guards, the state of a request, the account routes and the webhook handler. */
export interface FetchGate extends GateMiddlewares<FetchGuard, Request, FetchDeniedHandler, Response> {
  /** The state of a request that went through a guard of this fetchGate, else undefined. */
  state(req: Request): Ecom9State | undefined;
  /** Read-only routes for the signed-in account under `prefix` (default '/api/ecom9'), for the browser. */
  accountRoutes(opts?: AccountRoutesOptions): (req: Request, ...rest: unknown[]) => Promise<Response>;
  /** ecom9's webhooks: `export const POST = ecom9.webhookHandler()`. Reads the raw bytes itself (64 KiB). */
  webhookHandler(opts?: WebhookRouterOptions): (req: Request) => Promise<Response>;
}

export function fetchGate(gate: Gate, options: FetchGateOptions): FetchGate {
  const b = fetchBinding((err) => gate.reportError(err));
  return {
    ...buildMiddlewares(gate, options, b),

    state: (req) => (isRequest(req) ? b.state(req) : undefined),

    accountRoutes(opts = {}) {
      const prefix = checkPrefix(opts?.prefix, '/api/ecom9');
      const core = accountRoutesCore(gate, options.accountRefId, opts);
      // What the server passes after the Request (@hono/node-server's `{ outgoing }`) lets a stream see its socket.
      return (req, ...rest) => serveWeb(core, req, req, prefix, (err) => gate.reportError(err), (rest[0] as { outgoing?: unknown } | undefined)?.outgoing);
    },

    webhookHandler: (opts = {}) => webhookEndpoint(gate, opts),
  };
}

export type { Ecom9State, FetchDeniedHandler, FetchGuard, FetchHandler };
// Every core type (src/types.ts), so a type this subpath's signatures name (and what those name in
// turn) is imported from here as from ecom9-gate.
export type * from '../src/types';
