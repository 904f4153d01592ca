// Starts the NestJS example (against the bundled emulator unless ECOM9_API_KEY is set); NEST_PLATFORM=fastify for Fastify.
import 'reflect-metadata';
import { exampleGateOptions } from '../gate-options';
import { buildApp } from './app';

const { app } = await buildApp(await exampleGateOptions(), process.env.NEST_PLATFORM === 'fastify' ? 'fastify' : 'express');
await app.listen(Number(process.env.PORT ?? 3000), '127.0.0.1');
const address = await app.getUrl();
console.log(`NestJS example on ${address}  (try: curl -H 'x-account-id: acme' ${address}/reports)`);
