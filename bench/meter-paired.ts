// meterUsage over HTTP against what any meter costs: fetchGate on @hono/node-server serving the same
// handler bare, behind a bare 'close' listener on the Node response, behind that listener recording
// one unit through the core by hand, and behind meterUsage; rounds alternate the order, and each
// route's throughput and the server's CPU per request (/proc) are paired with bare's in its round.
// `npx tsx bench/meter-paired.ts [rounds]` (default 10).
import type { AddressInfo } from 'node:net';
import { child, load, median, stop } from './lib';

type Out = { on(event: 'close', listener: () => void): void; statusCode: number };

if (process.env.METER_PAIRED_SERVER) {
  const { serve } = await import('@hono/node-server');
  const { core, fetchAdapter } = await import('./code');
  const gate = core.createGate({
    apiKey: process.env.EMU_KEY as string,
    baseUrl: process.env.EMU_URL as string,
    cache: { ttlMs: 3_600_000 },
    usage: { maxQueue: 5_000_000 },
    logger: { warn: () => {} },
  });
  const f = fetchAdapter.fetchGate(gate, { accountRefId: (req) => req.headers.get('x-account') });
  const handler = () => Response.json({ ok: true });
  let closes = 0;
  const routes: Record<string, (req: Request, env: { outgoing: Out }) => Response | Promise<Response>> = {
    '/bare': handler,
    '/close': (_req, env) => {
      env.outgoing.on('close', () => void closes++);
      return handler();
    },
    '/by-hand': (req, env) => {
      env.outgoing.on('close', () => {
        const ref = req.headers.get('x-account');
        if (ref && env.outgoing.statusCode < 400) gate.recordMetered(ref, 'api-access', 'api_calls', 1);
      });
      return handler();
    },
    '/meter': f.meterUsage({ product: 'api-access', meter: 'api_calls' })(handler),
  };
  const missing = () => new Response(null, { status: 404 });
  const server = serve({
    fetch: (req: Request, env: { outgoing: Out }) => (routes[new URL(req.url).pathname] ?? missing)(req, env),
    port: 0,
    hostname: '127.0.0.1',
  });
  await new Promise((r) => server.once('listening', r));
  process.stdout.write(`${JSON.stringify({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` })}\n`);
  process.on('SIGTERM', () => process.exit(0));
} else {
  const rounds = Number(process.argv[2] ?? 10);
  const routes = ['bare', 'close', 'by-hand', 'meter'];
  const emu = await child('./emulator-proc.ts', {});
  const { proc, info } = await child('./meter-paired.ts', { METER_PAIRED_SERVER: '1', EMU_URL: emu.info.url as string, EMU_KEY: emu.info.apiKey as string });
  const h = { 'x-account': 'acme' };
  for (const r of routes) await load(`${info.url}/${r}`, 1, h);
  const cpu: Record<string, number[]> = {};
  const rps: Record<string, number[]> = {};
  for (let i = 0; i < rounds; i++) {
    for (const r of i % 2 ? [...routes].reverse() : routes) {
      const l = await load(`${info.url}/${r}`, 2, h, proc.pid);
      (cpu[r] ??= []).push(l.cpuUs ?? Number.NaN);
      (rps[r] ??= []).push(l.rps);
    }
  }
  const bareCpu = cpu.bare as number[];
  const bareRps = rps.bare as number[];
  for (const r of routes) {
    const c = cpu[r] as number[];
    const q = rps[r] as number[];
    console.log(
      `${r.padEnd(8)} ${median(q).toFixed(0).padStart(6)} req/s (${median(q.map((x, i) => x / (bareRps[i] as number))).toFixed(3)} of bare in its round), ` +
        `CPU ${median(c).toFixed(1)} µs per request (${median(c.map((x, i) => x - (bareCpu[i] as number))).toFixed(1)} over bare in its round)`,
    );
  }
  await stop(proc);
  await stop(emu.proc);
}
