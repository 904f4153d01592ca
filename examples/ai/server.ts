// Starts the AI example on Node (`npx tsx examples/ai/server.ts`), against the bundled emulator unless
// ECOM9_API_KEY is set, and a stand-in model unless AI_GATEWAY_API_KEY is set.
import { serve } from '@hono/node-server';
import { exampleGateOptions } from '../gate-options';
import { buildApp } from './app';

const port = Number(process.env.PORT ?? 3000);
const { app } = buildApp(await exampleGateOptions(), undefined, (s) => console.log(`charged ${s.accountRefId} ${s.charged} credits (${s.outcome})`));
serve({ fetch: app.fetch, port, hostname: '127.0.0.1' });
console.log(`AI example on http://127.0.0.1:${port}  (try: curl -N -H 'x-account-id: acme' -d '{"prompt":"hi"}' http://127.0.0.1:${port}/chat)`);
