// What only the web-standard adapters (fetch, Hono) have to get right beyond the shared tables: a
// guard handed something that is not a Request, a webhook body refused while it is being read, and
// a streamed response metered only once it has been sent to its end.
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { fetchGate } from 'ecom9-gate/fetch';
import { honoGate } from 'ecom9-gate/hono';
import { Hono } from 'hono';
import { sharedGateEnv } from './support/gate-env';
import { startApp, testFixtures, type RunningApp } from './support/apps';

const env = sharedGateEnv({ emulator: { fixtures: testFixtures() } });
beforeEach(() => {
  env.emu.setAccount('pro-co', { customerEmail: 'pro@example.com', subscriptions: [{ subscription: 'studio-suite', tier: 'pro' }] });
  env.emu.setCredits('pro-co', 'ai-images', 'credits', 12);
  env.emu.resetCalls();
  env.gate.invalidate('pro-co');
});

describe('fetchGate guards', () => {
  const f = () => fetchGate(env.gate, { accountRefId: (req) => req.headers.get('x-account') });

  it('throw a TypeError naming the guard when the wrapped handler gets something that is not a Request', () => {
    const e = f();
    let ran = 0;
    const handler = () => {
      ran++;
      return new Response('gated');
    };
    const cases: [string, (req: never) => unknown][] = [
      ['requireTier', e.requireTier('pro')(handler)],
      ['requireEntitlement', e.requireEntitlement('pro-api', 'api_access')(handler)],
      ['chargeCredits', e.chargeCredits({ product: 'ai-images', meter: 'credits', quantity: 1 })(handler)],
      ['meterUsage', e.meterUsage({ product: 'api-access', meter: 'api_calls' })(handler)],
    ];
    for (const [name, wrapped] of cases) {
      for (const bad of [undefined, { headers: { 'x-account': 'pro-co' } }, 'https://example.com/']) {
        expect(() => wrapped(bad as never)).toThrow(new RegExp(`^ecom9-gate: fetchGate ${name}\\(\\) .*without a Request`));
        expect(() => wrapped(bad as never)).toThrow(TypeError);
      }
    }
    expect(ran).toBe(0);
    expect(env.emu.callCount()).toBe(0);
  });

  it('refuses a missing gate or resolver at start-up, naming the option and not echoing values', () => {
    expect(() => fetchGate(undefined as never, { accountRefId: () => 'x' })).toThrow(/fetchGate "gate" must be a gate from createGate\(\)/);
    expect(() => honoGate(env.gate, { accountRefId: 'sk_live_do_not_echo' as never })).toThrow(
      /^ecom9-gate: honoGate option "accountRefId" must be a function$/,
    );
  });

  it('gives state only for a request that went through a guard, and runs as a Bun.serve-style fetch (sync handler, warm cache)', async () => {
    const e = f();
    const gated = e.requireTier('pro')((req) => Response.json(e.state(req)));
    const req = new Request('http://app.test/reports', { headers: { 'x-account': 'pro-co' } });
    expect(e.state(req)).toBeUndefined();
    expect(await (await gated(req)).json()).toMatchObject({ accountRefId: 'pro-co', decision: { allowed: true } });
    // Warm: answered without a promise, straight from the handler.
    const warm = gated(new Request('http://app.test/reports', { headers: { 'x-account': 'pro-co' } }));
    expect(warm).toBeInstanceOf(Response);
    expect(env.emu.callCount('accounts.status', 'pro-co')).toBe(1);
  });
  it('keeps the state of a request that cannot take a property (frozen), and keeps two gates apart', async () => {
    const e = f();
    const other = f();
    const req = Object.freeze(new Request('http://app.test/reports', { headers: { 'x-account': 'pro-co' } }));
    const res = await e.requireTier('pro')((r) => Response.json({ mine: e.state(r)?.accountRefId ?? null, other: other.state(r) ?? null }))(req);
    expect(await res.json()).toEqual({ mine: 'pro-co', other: null });
    expect(e.state(req)?.decision?.allowed).toBe(true);
  });
});

describe('webhook body limit while reading', () => {
  it.each(['fetch', 'hono'] as const)('%s: answers 413 to an endless streamed body having read little past 64 KiB, and stops reading', async (fw) => {
    let pulled = 0;
    let cancelled = false;
    const chunk = new Uint8Array(8 * 1024).fill(0x61);
    // No Content-Length and no end: only a limit applied while reading can answer this.
    const body = new ReadableStream<Uint8Array>({
      pull(ctl) {
        pulled += chunk.byteLength;
        ctl.enqueue(chunk);
      },
      cancel() {
        cancelled = true;
      },
    });
    const req = new Request('http://app.test/webhooks/ecom9', {
      method: 'POST',
      body,
      duplex: 'half',
      headers: { 'content-type': 'application/json' },
    } as RequestInit);
    let res: Response;
    if (fw === 'fetch') res = await fetchGate(env.gate, { accountRefId: () => undefined }).webhookHandler()(req);
    else {
      const app = new Hono();
      app.all('/webhooks/ecom9', honoGate(env.gate, { accountRefId: () => undefined }).webhookHandler());
      res = await app.fetch(req);
    }
    expect(res.status).toBe(413);
    expect(res.headers.get('connection')).toBe('close');
    expect(await res.json()).toEqual({ received: false, error: 'payload_too_large', detail: 'the body exceeds 65536 bytes' });
    expect(cancelled).toBe(true);
    // 64 KiB, plus what the stream queued ahead of the reader.
    expect(pulled).toBeLessThanOrEqual(64 * 1024 + 3 * chunk.byteLength);
  });
});

describe.each(['fetch', 'hono'] as const)('%s meterUsage on a streamed body', (fw) => {
  let app: RunningApp;
  beforeAll(async () => {
    app = await startApp(fw, env.gate);
  });
  afterAll(async () => {
    await app.close();
  });

  const queued = () => env.gate.stats().usageQueued;

  it('records once the stream has ended, not when the handler returned', async () => {
    const before = queued();
    const held = app.hold();
    const res = await fetch(`${app.url}/metered-stream`, { headers: { 'x-account': 'pro-co' } });
    expect(res.status).toBe(200);
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    expect(new TextDecoder().decode((await reader.read()).value)).toBe('first;');
    await held.reached.promise; // the stream is waiting for its last chunk
    expect(queued() - before).toBe(0);
    held.release.resolve();
    let rest = '';
    for (let r = await reader.read(); !r.done; r = await reader.read()) rest += new TextDecoder().decode(r.value);
    expect(rest).toBe('last');
    await vi.waitFor(() => expect(queued() - before).toBe(1));
  });

  it('does not record a stream the client aborted midway', async () => {
    const before = queued();
    const held = app.hold();
    const ctl = new AbortController();
    const res = await fetch(`${app.url}/metered-stream`, { headers: { 'x-account': 'pro-co' }, signal: ctl.signal });
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    await reader.read();
    await held.reached.promise;
    ctl.abort();
    await held.closed.promise; // the server saw the stream cancelled
    held.release.resolve();
    // A later, complete request is recorded: the aborted one is the only one missing.
    const again = app.hold();
    again.release.resolve();
    const ok = await fetch(`${app.url}/metered-stream`, { headers: { 'x-account': 'pro-co' } });
    expect(await ok.text()).toBe('first;last');
    await vi.waitFor(() => expect(queued() - before).toBe(1));
    await env.gate.flush();
    expect(queued() - before).toBe(1);
  });
});
