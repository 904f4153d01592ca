// Fastify adapter: a plugin (fastify-plugin) that decorates app.ecom9 with the hooks the shared
// builder makes from its binding, request.ecom9 with the state, and serves webhooks on `webhookPath`
// in a scope with its own raw-body parser (fastify/webhook.ts).
import fp from 'fastify-plugin';
import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest, preHandlerHookHandler } from 'fastify';
import type { Gate, WebhookHandler } from '../src/index';
import type { AdapterOptions } from '../src/middleware/adapter-options';
import { buildMiddlewares, type GateMiddlewares } from '../src/middleware/builder';
import { checkAdapterOptions, type Ecom9State } from '../src/middleware/guards';
import { fastifyBinding, type FastifyDeniedHandler } from './fastify/binding';
import { checkWebhookPath, signedBytes, webhookHandlers } from '../src/middleware/webhook-route';
import { webhookScope } from './fastify/webhook';
import { mountHijacked, type AccountRoutesPluginOptions } from '../src/middleware/account-routes-io';

export type { AccountRoutesPluginOptions };

export interface FastifyGateOptions extends AdapterOptions<FastifyRequest, FastifyDeniedHandler>, AccountRoutesPluginOptions {
  gate: Gate;
  /** Serve ecom9's webhooks here (POST), with a raw-body parser scoped to this route. */
  webhookPath?: string;
  /** Registered on the gate, like gate.onWebhook (see WebhookRouterOptions). */
  webhookHandlers?: Record<string, WebhookHandler>;
}

/**
 * `app.ecom9`: hooks for a route's `preHandler` (meterUsage: best as `onRequest`, one listener that
 * sees aborted requests too; as `onResponse`, Fastify adds two listeners of its own per request
 * unless its logger is on).
 */
export interface FastifyEcom9 extends GateMiddlewares<preHandlerHookHandler, FastifyRequest, FastifyDeniedHandler, FastifyReply> {}

declare module 'fastify' {
  interface FastifyRequest {
    /**
     * Set by every ecom9 hook on the route; null on a route without one. Behind a hook,
     * `app.ecom9.gated(request)` reads it typed as present.
     */
    ecom9: Ecom9State | null;
  }
  interface FastifyInstance {
    ecom9: FastifyEcom9;
  }
}

function registerWebhook(app: FastifyInstance, gate: Gate, path: string): void {
  void app.register(async (scope) => {
    webhookScope(scope, gate);
    scope.all(path, async (request, reply) => {
      // Fastify runs no parser for a POST without content-type or with an empty body: no bytes.
      const rawBody = signedBytes(request.body, request.body === undefined);
      const { status, body } = await gate.handleWebhook({ rawBody, headers: request.headers });
      return reply.code(status).send(body);
    });
  });
}

// Async, so a bad option rejects app.register (and app.ready) with the error naming it.
const plugin: FastifyPluginAsync<FastifyGateOptions> = async (app, options) => {
  checkAdapterOptions('fastifyGate', options?.gate, options?.accountRefId);
  if (options.webhookPath !== undefined) checkWebhookPath(options.webhookPath, 'fastifyGate option "webhookPath"');
  // Declared up front (null until a hook sets it) so every request has the same shape.
  app.decorateRequest('ecom9', null);
  app.decorate(
    'ecom9',
    buildMiddlewares(
      options.gate,
      options,
      fastifyBinding((err) => options.gate.reportError(err)),
    ) as FastifyEcom9,
  );
  if (options.webhookPath !== undefined) {
    webhookHandlers(options.gate, { ...(options.webhookHandlers ? { handlers: options.webhookHandlers } : {}) });
    registerWebhook(app, options.gate, options.webhookPath);
  }
  mountHijacked(app as never, options.gate, options.accountRefId as never, options);
};

export const fastifyGate = fp(plugin, { fastify: '5.x', name: 'ecom9-gate' });
export default fastifyGate;
export type { Ecom9State, FastifyDeniedHandler };
// Every core type (src/types.ts), so a type this subpath's signatures name (and what those name in
// turn) is imported from here as from ecom9-gate.
export type * from '../src/types';
