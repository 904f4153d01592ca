// Starts the fetchGate example on Bun: `bun examples/bun/server.ts` (the emulator unless ECOM9_API_KEY is set).
import { exampleGateOptions } from '../gate-options';
import { buildApp } from './app';

declare const Bun: { serve(o: { fetch: (req: Request) => Response | Promise<Response>; port: number; hostname: string }): unknown };

const port = Number(process.env.PORT ?? 3000);
const { fetch } = buildApp(await exampleGateOptions());
Bun.serve({ fetch, port, hostname: '127.0.0.1' });
console.log(`Bun example on http://127.0.0.1:${port}  (try: curl -H 'x-account-id: acme' http://127.0.0.1:${port}/reports)`);
