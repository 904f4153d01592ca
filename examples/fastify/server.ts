// Starts the Fastify example (against the bundled emulator unless ECOM9_API_KEY is set).
import { exampleGateOptions } from '../gate-options';
import { buildApp } from './app';

const { app } = await buildApp(await exampleGateOptions());
const address = await app.listen({ port: Number(process.env.PORT ?? 3000), host: '127.0.0.1' });
console.log(`Fastify example on ${address}  (try: curl -H 'x-account-id: acme' ${address}/reports)`);
