// The Express example, instrumented: `npx tsx examples/otel/server.ts`, then scrape
// http://127.0.0.1:9464/metrics. A readiness probe on /ready answers gate.health().
import { instrumentGate } from 'ecom9-gate/otel';
import { buildApp } from '../express/app';
import { exampleGateOptions } from '../gate-options';
import { startTelemetry } from './telemetry';

const port = Number(process.env.PORT ?? 3000);
const metricsPort = Number(process.env.METRICS_PORT ?? 9464);

// The SDK first: instrumentGate() uses the global providers it registers.
const { sdk, ready } = startTelemetry(metricsPort);
const { app, gate } = buildApp(await exampleGateOptions());
const stopInstrumenting = instrumentGate(gate);

app.get('/ready', (_req, res) => {
  const health = gate.health();
  res.status(health.ok ? 200 : 503).json(health);
});

await ready;
const server = app.listen(port, '127.0.0.1', () => {
  console.log(`Express example on http://127.0.0.1:${port}  (try: curl -H 'x-account-id: acme' http://127.0.0.1:${port}/reports)`);
  console.log(`Prometheus metrics on http://127.0.0.1:${metricsPort}/metrics, readiness on http://127.0.0.1:${port}/ready`);
});

async function shutdown(): Promise<void> {
  server.close();
  stopInstrumenting();
  await gate.close();
  await sdk.shutdown();
  process.exit(0);
}
process.once('SIGTERM', () => void shutdown());
process.once('SIGINT', () => void shutdown());
