// A Cloudflare Worker gated by ecom9, with no compatibility flag: fetch guards on /reports, /search,
// /images and the webhook, and the same routes through Hono under /hono. The gate is made on the first
// request (a Worker's env exists only there) and kept for the isolate's life: its cache then serves
// every later request this isolate handles.
import { createGate } from 'ecom9-gate';
import { fetchGate } from 'ecom9-gate/fetch';
import { honoApp } from './hono';

export interface Env {
  ECOM9_API_KEY: string;
  ECOM9_BASE_URL?: string;
  ECOM9_WEBHOOK_SECRET?: string;
}

/** What a Worker's fetch gets as its third argument (ExecutionContext in @cloudflare/workers-types). */
export interface Ctx {
  waitUntil(promise: Promise<unknown>): void;
}

type Handler = (req: Request, env: Env, ctx: Ctx) => Response | Promise<Response>;

function build(env: Env): Handler {
  const gate = createGate({ apiKey: env.ECOM9_API_KEY, baseUrl: env.ECOM9_BASE_URL, webhookSecret: env.ECOM9_WEBHOOK_SECRET });
  // In a real app the account comes from your auth (a verified session or token); here, a header.
  const ecom9 = fetchGate(gate, { accountRefId: (req) => req.headers.get('x-account-id') });
  const routes: Record<string, Handler> = {
    'GET /reports': ecom9.requireTier('pro')((req) => Response.json({ report: 'quarterly numbers', account: ecom9.state(req)?.accountRefId })),
    'GET /search': ecom9.requireEntitlement(
      'pro-api',
      'api_access',
    )(
      ecom9.meterUsage({ product: 'api-access', meter: 'api_calls' })((req) =>
        Response.json({ results: [`match for ${new URL(req.url).searchParams.get('q') ?? ''}`] }),
      ),
    ),
    'POST /images': ecom9.chargeCredits({ product: 'ai-images', meter: 'credits', quantity: 5 })((req) =>
      Response.json({ image: 'https://example.com/generated.png', credits: ecom9.state(req)?.credits }),
    ),
    'POST /webhooks/ecom9': ecom9.webhookHandler(),
  };
  const hono = honoApp(gate);
  return (req, env, ctx) => {
    const url = new URL(req.url);
    if (url.pathname.startsWith('/hono/')) return hono.fetch(req, env, ctx as never);
    const route = routes[`${req.method} ${url.pathname}`];
    return route ? route(req, env, ctx) : new Response('not found', { status: 404 });
  };
}

let app: Handler | undefined;

export default {
  fetch(req: Request, env: Env, ctx: Ctx): Response | Promise<Response> {
    app ??= build(env);
    return app(req, env, ctx);
  },
};
