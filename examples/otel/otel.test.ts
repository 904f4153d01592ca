// Runs examples/otel/server.ts as its README says (one command, against the bundled emulator),
// sends a request, then scrapes /metrics and /ready.
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });

let proc: ChildProcess;
let app: string;
let metrics: string;

beforeAll(async () => {
  const [port, metricsPort] = [await freePort(), await freePort()];
  app = `http://127.0.0.1:${port}`;
  metrics = `http://127.0.0.1:${metricsPort}/metrics`;
  const env: NodeJS.ProcessEnv = { ...process.env, PORT: String(port), METRICS_PORT: String(metricsPort) };
  delete env.ECOM9_API_KEY;
  proc = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./server.ts', import.meta.url))], { env, stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    let out = '';
    proc.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('Prometheus metrics on')) resolve();
    });
    proc.once('exit', (code) => reject(new Error(`examples/otel/server.ts exited with ${code}`)));
  });
}, 30_000);

afterAll(async () => {
  if (proc.exitCode !== null) return;
  const exited = new Promise((r) => proc.once('exit', r));
  proc.kill('SIGTERM');
  await exited;
});

it('serves the gate metrics to Prometheus and health on /ready', async () => {
  expect((await fetch(`${app}/reports`, { headers: { 'x-account-id': 'acme' } })).status).toBe(200);
  expect((await fetch(`${app}/reports`, { headers: { 'x-account-id': 'acme' } })).status).toBe(200);
  const text = await (await fetch(metrics)).text();
  expect(text).toMatch(/^ecom9_gate_decisions_total\{ecom9_decision_code="allowed",ecom9_decision_source="upstream",ecom9_decision_allowed="true",[^}]*\} 1$/m);
  expect(text).toMatch(/^ecom9_gate_decisions_total\{ecom9_decision_code="allowed",ecom9_decision_source="cache",ecom9_decision_allowed="true",[^}]*\} 1$/m);
  expect(text).toMatch(/^ecom9_gate_upstream_duration_count\{ecom9_endpoint="accounts.status",http_response_status_code="200",[^}]*\} 1$/m);
  expect(text).toMatch(/^ecom9_gate_cache_entries\{[^}]*\} 1$/m);
  expect(text).toMatch(/^ecom9_gate_usage_pending\{[^}]*\} 0$/m);
  const ready = await fetch(`${app}/ready`);
  expect(ready.status).toBe(200);
  expect(await ready.json()).toEqual({ ok: true, upstream: 'ok', bus: 'none', store: 'none', usage: { pending: 0, spooled: 0 } });
});
