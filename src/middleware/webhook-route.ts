// What the three webhook routers share besides gate.handleWebhook: registering the user's handlers,
// the start-up warning, and the error for a body that a parser already consumed.
import { Ecom9Error } from '../client/errors';
import type { Gate } from '../gate/create-gate';
import type { WebhookHandler } from '../webhooks/handler';

export interface WebhookRouterOptions {
  /** Handlers by event name; '*' takes the events no named handler takes. They run after the invalidation. */
  handlers?: Record<string, WebhookHandler>;
}

/** Registers the router's handlers and warns once if webhooks are not verified. */
export function webhookHandlers(gate: Gate, opts: WebhookRouterOptions): void {
  gate.prepareWebhooks();
  for (const [event, handler] of Object.entries(opts.handlers ?? {})) gate.onWebhook(event, handler);
}

/** A parsed body cannot be verified (re-serialising it changes the bytes), so this says how to mount. */
export class WebhookMountError extends Ecom9Error {
  override name = 'WebhookMountError';
  override readonly code = 'webhook_body_consumed';
}

export function webhookBodyError(): WebhookMountError {
  return new WebhookMountError(
    'ecom9-gate: the webhook body was already consumed by a body parser, so its signature cannot be checked. ' +
      'Mount the webhook router before express.json() / koa-bodyparser (or exclude its path from them); ' +
      'in Fastify, register the plugin with `webhookPath` and do not add a parser for that route.',
  );
}
