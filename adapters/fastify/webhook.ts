// The encapsulated scope a webhook route lives in on Fastify, shared by fastifyGate's `webhookPath`
// and Ecom9Module on the Fastify platform: Fastify picks a body parser by content type, never by
// route, so a route gets its own parser only from a scope of its own. Type-only imports of fastify:
// Ecom9Module loads this on either platform.
import type { FastifyInstance, FastifyReply, onRequestHookHandler, preValidationHookHandler } from 'fastify';
import type { Gate } from '../../src/index';
import { webhookPrecheck, webhookRejection, type WebhookRejection } from '../../src/middleware/webhook-route';
import { MAX_WEBHOOK_BYTES } from '../../src/webhooks/handler';

const sendRejection = (reply: FastifyReply, r: WebhookRejection) => reply.code(r.status).headers(r.headers).send(r.body);

/**
 * Makes `scope` (holding only the webhook route) read every body as raw bytes up to the limit, whatever
 * parsers the app has: the bytes as sent are what is signed, and every content type reaches
 * handleWebhook (a body that is not JSON is its 415, not a parser's).
 */
export function webhookScope(scope: FastifyInstance, gate: Gate): void {
  scope.removeAllContentTypeParsers();
  scope.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: MAX_WEBHOOK_BYTES }, (_req, body, done) => done(null, body));
  scope.setErrorHandler((err: { statusCode?: number }, request, reply) => {
    // The sender left mid-body, or the body timed out (answered below): nothing to answer, no error of the app's.
    if (request.raw.destroyed || reply.raw.headersSent) return void reply.hijack();
    if (err.statusCode === 413) return sendRejection(reply, webhookRejection('size'));
    throw err; // the app's own error handler decides
  });
  // onRequest: a wrong method or a compressed body is answered before a byte is read; then the
  // body has webhooks.bodyTimeoutMs to arrive, or is answered 408 and its connection closed.
  const timers = new WeakMap<object, ReturnType<typeof setTimeout>>();
  const precheck: onRequestHookHandler = (request, reply, done) => {
    const early = webhookPrecheck(request.method, request.headers);
    if (early) return void sendRejection(reply, early);
    const t = setTimeout(() => {
      const r = webhookRejection('timeout');
      reply.hijack();
      reply.raw.writeHead(r.status, { ...r.headers, 'content-type': 'application/json; charset=utf-8' });
      reply.raw.end(JSON.stringify(r.body), () => request.raw.destroy());
    }, gate.webhookBodyTimeoutMs);
    timers.set(request, t);
    reply.raw.once('close', () => clearTimeout(t));
    done();
  };
  const bodyRead: preValidationHookHandler = (request, _reply, done) => {
    clearTimeout(timers.get(request));
    done();
  };
  scope.addHook('onRequest', precheck);
  scope.addHook('preValidation', bodyRead);
}
