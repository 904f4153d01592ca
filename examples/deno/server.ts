// ecom9-gate on Deno: Deno.serve with fetchGate guards, against an emulator started here unless
// ECOM9_API_KEY is set. Run from the repository root: see README.md.
import process from 'node:process';
import { createGate, type GateOptions } from 'ecom9-gate';
import { createEmulator } from 'ecom9-gate/emulator';
import { fetchGate } from 'ecom9-gate/fetch';

declare const Deno: {
  serve(o: { port: number; hostname: string; onListen(a: { port: number }): void }, h: (req: Request) => Response | Promise<Response>): unknown;
};

async function options(): Promise<GateOptions> {
  if (process.env.ECOM9_API_KEY) return {};
  const emu = createEmulator();
  const url = await emu.listen(0);
  console.log(`ecom9 emulator on ${url}`);
  return { apiKey: emu.apiKey, baseUrl: url, webhookSecret: emu.webhookSecret };
}

const gate = createGate(await options());
// In a real app the account comes from your session; here, a header.
const ecom9 = fetchGate(gate, { accountRefId: (req) => req.headers.get('x-account-id') });

const routes: Record<string, (req: Request) => Response | Promise<Response>> = {
  'GET /reports': ecom9.requireTier('pro')((req) => Response.json({ report: 'quarterly numbers', account: ecom9.state(req)?.accountRefId })),
  'POST /images': ecom9.chargeCredits({ product: 'ai-images', meter: 'credits', quantity: 5 })((req) => Response.json({ credits: ecom9.state(req)?.credits })),
  'GET /v1/search': ecom9.meterUsage({ product: 'api-access', meter: 'api_calls' })(() => Response.json({ results: [] })),
  'POST /webhooks/ecom9': ecom9.webhookHandler(),
};

Deno.serve(
  {
    port: Number(process.env.PORT ?? 3000),
    hostname: '127.0.0.1',
    onListen: ({ port }) => console.log(`Deno example on http://127.0.0.1:${port}  (try: curl -H 'x-account-id: acme' http://127.0.0.1:${port}/reports)`),
  },
  (req) => routes[`${req.method} ${new URL(req.url).pathname}`]?.(req) ?? new Response('not found', { status: 404 }),
);
