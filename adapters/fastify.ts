// Fastify adapter: a plugin (fastify-plugin) that decorates app.ecom9 with hook factories and
// request.ecom9 with the state, and serves webhooks on `webhookPath` with a raw-body parser scoped to it.
import fp from 'fastify-plugin';
import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest, onRequestHookHandler, preHandlerHookHandler } from 'fastify';
import type { Decision, Gate, WebhookHandler } from '../src/index';
import type { AdapterOptions, PerRouteOptions } from '../src/middleware/adapter-options';
import {
  chargeGuard,
  checkAdapterOptions,
  checkFactories,
  callOnDenied,
  denialResponse,
  mergeState,
  type ChargeOptions,
  type Ecom9State,
  type Guard,
} from '../src/middleware/guards';
import { meterGuard, type MeterOptions } from '../src/middleware/meter';
import { checkWebhookPath, signedBytes, webhookHandlers, webhookPrecheck, webhookRejection } from '../src/middleware/webhook-route';
import { MAX_WEBHOOK_BYTES } from '../src/webhooks/handler';
import { mountHijacked, type AccountRoutesPluginOptions } from '../src/middleware/account-routes-io';

/** Answers a denial instead. Only `next()` lets the request go on (`next(err)`: the error handler); as in
 * Express, one that neither answers nor calls `next` leaves the request unanswered. */
export type FastifyDeniedHandler = (request: FastifyRequest, reply: FastifyReply, decision: Decision, next: (err?: Error) => void) => unknown;

export interface FastifyGateOptions extends AdapterOptions<FastifyRequest, FastifyDeniedHandler>, AccountRoutesPluginOptions {
  gate: Gate;
  /** Serve ecom9's webhooks here (POST), with a raw-body parser scoped to this route. */
  webhookPath?: string;
  /** Registered on the gate, like gate.onWebhook (see WebhookRouterOptions). */
  webhookHandlers?: Record<string, WebhookHandler>;
}

function sendDenial(reply: FastifyReply, decision: Decision): void {
  const { status, headers, body } = denialResponse(decision);
  void reply.code(status).headers(headers).send(JSON.stringify(body));
}

const sendRejection = (reply: FastifyReply, r: ReturnType<typeof webhookRejection>) => reply.code(r.status).headers(r.headers).send(r.body);

const routeOf = (req: FastifyRequest): string => `${req.method} ${req.routeOptions.url ?? req.url}`;
// Node joins a repeated header of this kind into one string; an empty one counts as none.
const idempotencyKeyOf = (req: FastifyRequest): string | undefined => (req.headers['idempotency-key'] as string | undefined) || undefined;

const meterReaders = { knownRef: (req: FastifyRequest) => req.ecom9?.accountRefId ?? undefined, idempotencyKey: idempotencyKeyOf, route: routeOf };

function helpers(gate: Gate, options: FastifyGateOptions) {
  const report = (err: unknown) => gate.reportError(err);
  const resolver = options.accountRefId;

  /** Records the state for the handler, then passes on or answers the denial; never throws. */
  function settle(request: FastifyRequest, reply: FastifyReply, done: (err?: Error) => void, state: Ecom9State, onDenied?: FastifyDeniedHandler): void {
    request.ecom9 = mergeState(request.ecom9, state);
    const decision = state.decision as Decision;
    if (decision.allowed) done();
    else if (!onDenied) sendDenial(reply, decision);
    // Not `reply.sent`: onDenied may answer later, or an async onSend hook may still be sending.
    else callOnDenied((next) => onDenied(request, reply, decision, next), done as (err?: unknown) => void, report);
  }

  // Callback-style hooks: a warm cache answers without a single promise (a sync throw: Fastify's error handler).
  const guarded = (guard: Guard<FastifyRequest>, onDenied = options.onDenied): preHandlerHookHandler =>
    function ecom9Guard(request, reply, done) {
      const out = guard(request);
      if (out instanceof Promise) out.then((state) => settle(request, reply, done, state, onDenied), done);
      else settle(request, reply, done, out, onDenied);
    };

  return {
    ...checkFactories(gate, resolver, report, guarded),

    chargeCredits(opts: ChargeOptions<FastifyRequest> & PerRouteOptions<FastifyDeniedHandler>): preHandlerHookHandler {
      const charge = chargeGuard(gate, resolver, report, opts);
      const onDenied = opts.onDenied ?? options.onDenied;
      return function ecom9Charge(request, reply, done) {
        const meta = { idempotencyKey: idempotencyKeyOf(request), route: routeOf(request) };
        charge(request, meta).then((state) => settle(request, reply, done, state, onDenied), done);
      };
    },

    /** Meters the finished response. Best as `onRequest` (one listener; sees aborted requests); as
     * `onResponse`, Fastify adds two listeners of its own per request unless its logger is on. */
    meterUsage(opts: MeterOptions<FastifyRequest, FastifyReply>): onRequestHookHandler {
      const meter = meterGuard(gate, resolver, report, opts, meterReaders);
      return function ecom9Meter(request, reply, done) {
        meter(request, reply, reply.raw);
        done();
      };
    },
  };
}

export type FastifyEcom9 = ReturnType<typeof helpers>;

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by every ecom9 hook on the route. */
    ecom9: Ecom9State;
  }
  interface FastifyInstance {
    ecom9: FastifyEcom9;
  }
}

function registerWebhook(app: FastifyInstance, gate: Gate, path: string): void {
  void app.register(async (scope) => {
    // Scoped to this route: the raw bytes are what is signed, whatever parsers the app has.
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: MAX_WEBHOOK_BYTES }, (_req, body, done) => done(null, body));
    scope.setErrorHandler((err: { statusCode?: number }, _req, reply) => {
      if (err.statusCode === 413) return sendRejection(reply, webhookRejection('size'));
      throw err; // the app's own error handler decides
    });
    // onRequest: a wrong method or a compressed body is answered before a byte is read.
    const precheck: onRequestHookHandler = (request, reply, done) => {
      const early = webhookPrecheck(request.method, request.headers);
      if (early) void sendRejection(reply, early);
      else done();
    };
    scope.all(path, { onRequest: precheck }, async (request, reply) => {
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
  app.decorateRequest('ecom9', null as unknown as Ecom9State);
  app.decorate('ecom9', helpers(options.gate, options));
  if (options.webhookPath !== undefined) {
    webhookHandlers(options.gate, { ...(options.webhookHandlers ? { handlers: options.webhookHandlers } : {}) });
    registerWebhook(app, options.gate, options.webhookPath);
  }
  mountHijacked(app as never, options.gate, options.accountRefId as never, options);
};

export const fastifyGate = fp(plugin, { fastify: '5.x', name: 'ecom9-gate' });
export default fastifyGate;
export type { Ecom9State };
