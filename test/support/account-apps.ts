// One small app per framework with the browser's account routes under /api/ecom9 and the webhook
// route, listening on loopback. The signed-in account comes from the `x-account` header (or the
// `account` cookie), as a session would give it.
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import express from 'express';
import Koa from 'koa';
import Fastify from 'fastify';
import { expressGate } from 'ecom9-gate/express';
import { koaGate } from 'ecom9-gate/koa';
import { fastifyGate } from 'ecom9-gate/fastify';
import { fetchGate } from 'ecom9-gate/fetch';
import { honoGate } from 'ecom9-gate/hono';
import { createAdaptorServer } from '@hono/node-server';
import { Hono } from 'hono';
import type { Gate } from 'ecom9-gate';

export const ROUTE_FRAMEWORKS = ['express', 'koa', 'fastify', 'fetch', 'hono'] as const;
export type RouteFramework = (typeof ROUTE_FRAMEWORKS)[number];

export interface RouteApp {
  /** The app's origin; routes are under `${url}/api/ecom9`, webhooks at `${url}/webhooks/ecom9`. */
  url: string;
  close(): Promise<void>;
}

export interface RouteAppOptions {
  rate?: { max?: number; windowMs?: number };
  now?: () => number;
  maxStreamsPerAccount?: number;
  maxStreams?: number;
  /** The resolver, from the request's headers (default: accountOf). */
  resolve?: (headers: Headers) => unknown;
}

export type Headers = Record<string, string | string[] | undefined>;

/** The session's account: the x-account header, else an `account=` cookie. */
export function sessionAccount(headers: Headers): string | undefined {
  const h = headers['x-account'];
  if (typeof h === 'string') return h;
  const m = /(?:^|;\s*)account=([^;]+)/.exec(String(headers.cookie ?? ''));
  return m ? decodeURIComponent(m[1] as string) : undefined;
}

async function listen(server: Server): Promise<RouteApp> {
  await new Promise((r) => server.once('listening', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

export async function startRouteApp(framework: RouteFramework, gate: Gate, options: RouteAppOptions = {}): Promise<RouteApp> {
  const { resolve, ...opts } = options;
  const accountOf = resolve ?? sessionAccount;
  if (framework === 'express') {
    const app = express();
    const ecom9 = expressGate(gate, { accountRefId: (req) => accountOf(req.headers) });
    app.use('/webhooks/ecom9', ecom9.webhookRouter());
    app.use('/api/ecom9', ecom9.accountRoutes(opts));
    return listen(app.listen(0, '127.0.0.1'));
  }
  if (framework === 'koa') {
    const app = new Koa();
    const k = koaGate(gate, { accountRefId: (ctx) => accountOf(ctx.headers) });
    app.use(k.webhookRouter({ path: '/webhooks/ecom9' }));
    app.use(k.accountRoutes({ prefix: '/api/ecom9', ...opts }));
    return listen(app.listen(0, '127.0.0.1'));
  }
  // Like the other two apps' closeAllConnections: a keep-alive socket a sender left open must not hold close().
  if (framework === 'fetch') {
    const ecom9 = fetchGate(gate, { accountRefId: (req) => accountOf(Object.fromEntries(req.headers)) });
    const routes = ecom9.accountRoutes({ prefix: '/api/ecom9', ...opts });
    const webhook = ecom9.webhookHandler();
    const fetch = (req: Request, ...rest: unknown[]) => (new URL(req.url).pathname === '/webhooks/ecom9' ? webhook(req) : routes(req, ...rest));
    return listen((createAdaptorServer({ fetch }) as Server).listen(0, '127.0.0.1'));
  }
  if (framework === 'hono') {
    const app = new Hono();
    const h = honoGate(gate, { accountRefId: (c) => accountOf(Object.fromEntries(c.req.raw.headers)) });
    app.all('/webhooks/ecom9', h.webhookHandler());
    app.route('/api/ecom9', h.accountRoutes(opts));
    return listen((createAdaptorServer({ fetch: app.fetch }) as Server).listen(0, '127.0.0.1'));
  }
  const app = Fastify({ forceCloseConnections: true });
  await app.register(fastifyGate, {
    gate,
    accountRefId: (req) => accountOf(req.headers),
    webhookPath: '/webhooks/ecom9',
    accountRoutesPrefix: '/api/ecom9',
    accountRoutes: opts,
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  return { url: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`, close: () => app.close() };
}
