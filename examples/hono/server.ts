// Starts the Hono example on Node (`npx tsx examples/hono/server.ts`, via @hono/node-server) or on
// Bun (`bun examples/hono/server.ts`, via Bun.serve), against the bundled emulator unless
// ECOM9_API_KEY is set.
import { exampleGateOptions } from '../gate-options';
import { buildApp } from './app';

declare const Bun: { serve(o: { fetch: (req: Request) => Response | Promise<Response>; port: number; hostname: string }): unknown } | undefined;

const port = Number(process.env.PORT ?? 3000);
const { app } = buildApp(await exampleGateOptions());
if (typeof Bun !== 'undefined') Bun.serve({ fetch: app.fetch, port, hostname: '127.0.0.1' });
else (await import('@hono/node-server')).serve({ fetch: app.fetch, port, hostname: '127.0.0.1' });
console.log(`Hono example on http://127.0.0.1:${port}  (try: curl -H 'x-account-id: acme' http://127.0.0.1:${port}/reports)`);
