// fetchGate with Deno.serve: `deno run -A examples/deno/server.ts` (see README.md). The account is the
// `x-account-id` header; ECOM9_API_KEY (and ECOM9_BASE_URL, ECOM9_WEBHOOK_SECRET) point it at ecom9,
// else it starts the bundled emulator with its demo accounts.
import { createGate, type GateOptions } from 'ecom9-gate';
import { createEmulator } from 'ecom9-gate/emulator';
import { fetchGate } from 'ecom9-gate/fetch';

declare const Deno: {
  serve(o: { port: number; hostname: string; onListen(a: { port: number }): void }, handler: (req: Request) => Response | Promise<Response>): unknown;
  env: { get(name: string): string | undefined };
};

async function emulated(): Promise<GateOptions> {
  if (Deno.env.get('ECOM9_API_KEY')) return {}; // ECOM9_API_KEY, ECOM9_BASE_URL and ECOM9_WEBHOOK_SECRET
  const emu = createEmulator();
  const url = await emu.listen(0);
  console.log(`ecom9 emulator on ${url}`);
  return { apiKey: emu.apiKey, baseUrl: url, webhookSecret: emu.webhookSecret };
}

const gate = createGate(await emulated());
const ecom9 = fetchGate(gate, { accountRefId: (req) => req.headers.get('x-account-id') });

const reports = ecom9.requireTier('pro', { upgradeLink: true })((req) =>
  Response.json({ report: 'quarterly numbers', account: ecom9.state(req)?.accountRefId }),
);
const images = ecom9.chargeCredits({ product: 'ai-images', meter: 'credits', quantity: 5 })((req) => Response.json({ credits: ecom9.state(req)?.credits }));
const webhook = ecom9.webhookHandler();

const port = Number(Deno.env.get('PORT') ?? 3000);
Deno.serve({ port, hostname: '127.0.0.1', onListen: (a) => console.log(`Deno example on http://127.0.0.1:${a.port}`) }, (req) => {
  const path = new URL(req.url).pathname;
  if (path === '/webhooks/ecom9') return webhook(req);
  if (path === '/reports' && req.method === 'GET') return reports(req);
  if (path === '/images' && req.method === 'POST') return images(req);
  return new Response('not found', { status: 404 });
});
