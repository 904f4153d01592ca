// The HTTP benchmark's routes for Hono and fetchGate, served on Node by @hono/node-server: the same
// handler bare, behind a no-op layer, and behind requireTier, requireEntitlement and meterUsage.
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { fetchAdapter, hono } from './code';
import type { Gate } from '../src/index';

type Meter = { product: string; meter: string };

export async function webBenchApp(fw: 'hono' | 'fetch', gate: Gate, meter: Meter, body: object): Promise<string> {
  let fetch: (req: Request, env?: unknown) => Response | Promise<Response>;
  if (fw === 'hono') {
    const app = new Hono();
    const h = hono.honoGate(gate, { accountRefId: (c) => c.req.header('x-account') });
    app.get('/bare', (c) => c.json(body));
    app.get(
      '/noop',
      (_c, next) => next(),
      (c) => c.json(body),
    );
    app.get('/tier', h.requireTier('pro'), (c) => c.json(body));
    app.get('/ent', h.requireEntitlement('pro-api', 'api_access'), (c) => c.json(body));
    app.get('/meter', h.meterUsage(meter), (c) => c.json(body));
    fetch = app.fetch;
  } else {
    // No router: a path lookup, as a Next.js app or Bun.serve({ routes }) would do it.
    const f = fetchAdapter.fetchGate(gate, { accountRefId: (req) => req.headers.get('x-account') });
    const handler = () => Response.json(body);
    const routes: Record<string, (req: Request, env?: unknown) => Response | Promise<Response>> = {
      '/bare': handler,
      '/noop': () => handler(),
      '/tier': f.requireTier('pro')(handler),
      '/ent': f.requireEntitlement('pro-api', 'api_access')(handler),
      '/meter': f.meterUsage(meter)(handler),
    };
    // What the server passes after the Request (@hono/node-server's { incoming, outgoing }) goes on to
    // the handler, as a user's app does: meterUsage then listens to the Node response.
    fetch = (req, env) => (routes[new URL(req.url).pathname] ?? (() => new Response(null, { status: 404 })))(req, env);
  }
  const server = serve({ fetch, port: 0, hostname: '127.0.0.1' });
  await new Promise((r) => server.once('listening', r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}
