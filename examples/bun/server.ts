// ecom9-gate on Bun: Bun.serve with fetchGate guards, against the bundled emulator unless ECOM9_API_KEY
// is set. Run from the repository root: `bun examples/bun/server.ts` (see README.md).
import { createGate } from 'ecom9-gate';
import { fetchGate } from 'ecom9-gate/fetch';
import { exampleGateOptions } from '../gate-options';

declare const Bun: { serve(o: { port: number; hostname: string; fetch: (req: Request) => Response | Promise<Response> }): { port: number } };

const gate = createGate(await exampleGateOptions());
// In a real app the account comes from your session; here, a header.
const ecom9 = fetchGate(gate, { accountRefId: (req) => req.headers.get('x-account-id') });

const routes: Record<string, (req: Request) => Response | Promise<Response>> = {
  'GET /reports': ecom9.requireTier('pro')((req) => Response.json({ report: 'quarterly numbers', account: ecom9.state(req)?.accountRefId })),
  'POST /images': ecom9.chargeCredits({ product: 'ai-images', meter: 'credits', quantity: 5 })((req) => Response.json({ credits: ecom9.state(req)?.credits })),
  'GET /v1/search': ecom9.meterUsage({ product: 'api-access', meter: 'api_calls' })(() => Response.json({ results: [] })),
  'POST /webhooks/ecom9': ecom9.webhookHandler(),
};

const server = Bun.serve({
  port: Number(process.env.PORT ?? 3000),
  hostname: '127.0.0.1',
  fetch: (req) => routes[`${req.method} ${new URL(req.url).pathname}`]?.(req) ?? new Response('not found', { status: 404 }),
});
console.log(`Bun example on http://127.0.0.1:${server.port}  (try: curl -H 'x-account-id: acme' http://127.0.0.1:${server.port}/reports)`);
