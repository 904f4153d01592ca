// The webhook route reads its own body, ahead of every body parser, so it answers as the other
// routers do whatever parsers the app has (405/415 before a byte is read, 413 over the limit, 408 for
// a slow body, 415 for a type that is not JSON, the bytes as sent to verify). Nest's parsers are
// app-wide and run before any route or Nest middleware, so the route cannot do it itself:
// - Express: a middleware added when the adapter is handed over (before app.init() adds Nest's
//   parsers, and before any app.use()) reads the webhook path's body and leaves it for the route;
// - Fastify: a parser is chosen by content type, never by route, so the route is registered in an
//   encapsulated scope with its own raw parser (fastify/webhook.ts, as fastifyGate's webhookPath).
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance } from 'fastify';
import type { Gate } from '../../src/index';
import { bodyConsumed, readRawBody } from '../../src/middleware/raw-body';
import { webhookPrecheck, webhookRejection } from '../../src/middleware/webhook-route';
import { MAX_WEBHOOK_BYTES } from '../../src/webhooks/handler';
import { webhookScope } from '../fastify/webhook';

/** Metadata on the webhook controller's handler: Nest copies it onto the handler it registers, so the route is known by it, not by its path. */
export const WEBHOOK_ROUTE = 'ecom9-gate:webhook-route';
/** Where the Express reader leaves the bytes as sent, for the route. */
export const WEBHOOK_BYTES = Symbol('ecom9-gate:webhook-bytes');

type Answer = { status: number; headers?: Readonly<Record<string, string>>; body: unknown };
type Register = (...args: unknown[]) => unknown;
interface PlatformAdapter {
  getType(): string;
  getInstance(): unknown;
  all: Register;
}

/** An answer on the Node response (before any route, or from a Nest middleware). */
export function send(res: ServerResponse, r: Answer): void {
  res.statusCode = r.status;
  for (const [name, value] of Object.entries(r.headers ?? {})) res.setHeader(name, value);
  res.setHeader('content-type', 'application/json; charset=utf-8');
  res.end(JSON.stringify(r.body));
}

/** Gives the webhook route its own body reader on the app's platform, once Nest hands the adapter over. */
export function readWebhookBody(host: HttpAdapterHost, gate: Gate): void {
  host.init$.subscribe(() => {
    const adapter = host.httpAdapter as unknown as PlatformAdapter | undefined;
    const type = adapter?.getType();
    if (type === 'express') expressReader(adapter as PlatformAdapter, gate);
    else if (type === 'fastify') fastifyScope(adapter as PlatformAdapter, gate);
  });
}

/**
 * Calls `take` instead of the adapter's `all` for the webhook route (the controller's handler is
 * marked WEBHOOK_ROUTE), with the path Nest registers it at (global prefix and versioning applied).
 */
function onWebhookRoute(adapter: PlatformAdapter, take: (args: unknown[], all: Register) => unknown): void {
  const all = adapter.all;
  adapter.all = function (this: unknown, ...args: unknown[]) {
    const handler = args[args.length - 1];
    if (typeof handler === 'function' && Reflect.getMetadata(WEBHOOK_ROUTE, handler) === true) return take(args, all);
    return all.apply(this, args);
  };
}

function fastifyScope(adapter: PlatformAdapter, gate: Gate): void {
  onWebhookRoute(adapter, (args, all) => {
    const root = adapter.getInstance() as FastifyInstance;
    void root.register(async (scope) => {
      webhookScope(scope, gate);
      // Nest's own registration (route options, methods), on the scope instead of the root.
      all.apply(Object.create(adapter, { instance: { value: scope } }), args);
    });
  });
}

// Express matches a literal path case-insensitively, with or without a trailing slash.
const pathKey = (path: string) => (path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path).toLowerCase();

function expressReader(adapter: PlatformAdapter, gate: Gate): void {
  const paths = new Set<string>();
  onWebhookRoute(adapter, (args, all) => {
    paths.add(pathKey(String(args[0])));
    return all.apply(adapter, args);
  });
  const app = adapter.getInstance() as { use(mw: (req: IncomingMessage & { path: string }, res: ServerResponse, next: () => void) => void): void };
  app.use((req, res, next) => {
    if (!paths.has(pathKey(req.path))) return next();
    const early = webhookPrecheck(req.method, req.headers);
    if (early) return send(res, early);
    // A parser the app mounted on its own express instance before Nest (express.json({ verify })...)
    // already read the stream: no 'end' will come again, so waiting for one held the sender until it
    // gave up. The route takes it from there (bytesOf: the raw body the app kept, else a mount error).
    if (bodyConsumed(req)) return next();
    void readRawBody(req, MAX_WEBHOOK_BYTES, gate.webhookBodyTimeoutMs).then((raw) => {
      // aborted: the client left, no one to answer and no error of the app's.
      if (raw.failed) return raw.failed === 'timeout' ? send(res, webhookRejection('timeout')) : undefined;
      if (raw.tooLarge) return send(res, webhookRejection('size'));
      // The stream has ended, so body-parser 2 skips the request; `_body` tells body-parser 1 so.
      Object.assign(req, { [WEBHOOK_BYTES]: raw.body, _body: true });
      next();
    });
  });
}
