// fetchGate in a plain `(req: Request) => Response` app: what Bun.serve (and Deno.serve) take.
import { createGate, type GateOptions } from 'ecom9-gate';
import { fetchGate } from 'ecom9-gate/fetch';

export function buildApp(options: GateOptions = {}) {
  const gate = createGate(options);
  // In a real app the account comes from your session; here, a header.
  const ecom9 = fetchGate(gate, { accountRefId: (req) => req.headers.get('x-account-id') });

  const routes: Record<string, (req: Request) => Response | Promise<Response>> = {
    'GET /reports': ecom9.requireTier('pro', { upgradeLink: true })((req) =>
      Response.json({ report: 'quarterly numbers', account: ecom9.state(req)?.accountRefId }),
    ),
    'GET /v1/search': ecom9.requireEntitlement(
      'pro-api',
      'api_access',
    )(
      ecom9.meterUsage({ product: 'api-access', meter: 'api_calls' })((req) =>
        Response.json({ results: [`match for ${new URL(req.url).searchParams.get('q') ?? ''}`] }),
      ),
    ),
    'POST /images': ecom9.chargeCredits({ product: 'ai-images', meter: 'credits', quantity: 5, topUpUrl: 'https://example.com/top-up' })((req) =>
      Response.json({ image: 'https://example.com/generated.png', credits: ecom9.state(req)?.credits }),
    ),
  };
  const webhook = ecom9.webhookHandler();

  const fetch = (req: Request): Response | Promise<Response> => {
    const path = new URL(req.url).pathname;
    if (path === '/webhooks/ecom9') return webhook(req); // 405 to anything but POST
    return routes[`${req.method} ${path}`]?.(req) ?? new Response('not found', { status: 404 });
  };
  return { fetch, gate };
}
