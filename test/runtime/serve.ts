// Serves the scenario apps of test/support/web-apps.ts (fetch and Hono) with Bun.serve or Deno.serve,
// each on its own gate against the emulator (ECOM9_BASE_URL), for test/runtimes.test.ts. What the
// table needs from a gate in another process is under /__control/: stats, flush, invalidate, the
// errors reported to onError, and hold/release/closed for the next /metered-stream request. Prints one JSON line, { fetch: url, hono: url }, once both listen.
import process from 'node:process';
import { createGate, type Gate } from 'ecom9-gate';
import { WEB_FRAMEWORKS, webApp, type Held, type WebApp } from '../support/web-apps';

type Handler = (req: Request) => Promise<Response>;
type Runtime = {
  Bun?: { serve(o: { port: number; hostname: string; fetch: Handler }): { port: number; stop(force?: boolean): void } };
  Deno?: { serve(o: { port: number; hostname: string; onListen(): void }, h: Handler): { addr: { port: number }; shutdown(): Promise<void> } };
};
const rt = globalThis as Runtime;

function gateFor(reported: string[]): Gate {
  return createGate({
    apiKey: process.env.ECOM9_API_KEY as string,
    baseUrl: process.env.ECOM9_BASE_URL as string,
    webhookSecret: process.env.ECOM9_WEBHOOK_SECRET as string,
    logger: { warn: () => {} },
    onError: (e) => void reported.push((e as Error).message),
    http: { timeoutMs: 2_000, maxRetries: 1, retryBaseMs: 1, retryMaxMs: 5 },
    usage: { retryBaseMs: 1, retryMaxMs: 5 },
    // As test/support/env.ts's gateFor: a refresh in the background would land in the next test's call counts.
    cache: { refreshAheadMs: 0 },
  });
}

function withControl(gate: Gate, reported: string[], app: WebApp): Handler {
  let held: Held | undefined;
  return async (req) => {
    const url = new URL(req.url);
    if (!url.pathname.startsWith('/__control/')) return app(req);
    switch (url.pathname) {
      case '/__control/stats':
        return Response.json(gate.stats());
      case '/__control/flush':
        await gate.flush();
        return Response.json({ ok: true });
      case '/__control/invalidate':
        for (const a of url.searchParams.getAll('account')) gate.invalidate(a);
        return Response.json({ ok: true });
      case '/__control/reported':
        return Response.json(reported.splice(0));
      case '/__control/hold':
        held = app.hold();
        return Response.json({ ok: true });
      case '/__control/release':
        held?.release.resolve();
        return Response.json({ ok: true });
      case '/__control/closed':
        await held?.closed.promise;
        return Response.json({ closed: true });
      default:
        return new Response('no such control', { status: 404 });
    }
  };
}

function serve(handler: Handler): number {
  if (rt.Bun) return rt.Bun.serve({ port: 0, hostname: '127.0.0.1', fetch: handler }).port;
  if (rt.Deno) return rt.Deno.serve({ port: 0, hostname: '127.0.0.1', onListen() {} }, handler).addr.port;
  throw new Error('serve.ts runs on Bun or Deno');
}

const urls: Record<string, string> = {};
for (const fw of WEB_FRAMEWORKS) {
  const reported: string[] = [];
  const gate = gateFor(reported);
  urls[fw] = `http://127.0.0.1:${serve(withControl(gate, reported, webApp(fw, gate)))}`;
}
console.log(JSON.stringify(urls));
process.on('SIGTERM', () => process.exit(0));
