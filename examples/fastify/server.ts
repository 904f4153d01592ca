// Starts the Fastify example. Without ECOM9_API_KEY it starts the bundled emulator and uses that.
import { createEmulator } from 'ecom9-gate/emulator';
import { buildApp } from './app';

let options = {};
if (!process.env.ECOM9_API_KEY) {
  const emu = createEmulator();
  const url = await emu.listen(0);
  options = { apiKey: emu.apiKey, baseUrl: url, webhookSecret: emu.webhookSecret };
  console.log(`ecom9 emulator on ${url}`);
}
const { app } = await buildApp(options);
const address = await app.listen({ port: Number(process.env.PORT ?? 3000), host: '127.0.0.1' });
console.log(`Fastify example on ${address}  (try: curl -H 'x-account-id: acme' ${address}/reports)`);
