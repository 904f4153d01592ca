// fetchGate with Deno.serve: `deno run -A examples/deno/server.ts` (see README.md). The account is the
// `x-account-id` header; ECOM9_API_KEY (and ECOM9_BASE_URL, ECOM9_WEBHOOK_SECRET) point it at ecom9.
import { createGate } from 'ecom9-gate';
import { fetchGate } from 'ecom9-gate/fetch';

declare const Deno: {
  serve(o: { port: number; hostname: string }, handler: (req: Request) => Response | Promise<Response>): unknown;
  env: { get(name: string): string | undefined };
};

const gate = createGate(); // ECOM9_API_KEY, ECOM9_BASE_URL and ECOM9_WEBHOOK_SECRET from the environment
const ecom9 = fetchGate(gate, { accountRefId: (req) => req.headers.get('x-account-id') });

const reports = ecom9.requireTier('pro', { upgradeLink: true })((req) =>
  Response.json({ report: 'quarterly numbers', account: ecom9.state(req)?.accountRefId }),
);
const images = ecom9.chargeCredits({ product: 'ai-images', meter: 'credits', quantity: 5 })((req) => Response.json({ credits: ecom9.state(req)?.credits }));
const webhook = ecom9.webhookHandler();

const port = Number(Deno.env.get('PORT') ?? 3000);
Deno.serve({ port, hostname: '127.0.0.1' }, (req) => {
  const path = new URL(req.url).pathname;
  if (path === '/webhooks/ecom9') return webhook(req);
  if (path === '/reports' && req.method === 'GET') return reports(req);
  if (path === '/images' && req.method === 'POST') return images(req);
  return new Response('not found', { status: 404 });
});
