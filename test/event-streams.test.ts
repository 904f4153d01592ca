// Events streams are counted from when they are opened: pipelined opens on one connection, opens
// racing through a batching resolver and opens from many accounts cannot pass the per-account
// limit or the global cap (429 with Retry-After), and every slot comes back when the socket closes,
// however the request ended (scripts/reliability.ts counts the streams left open under load).
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gateEnv, sharedGateEnv } from './support/gate-env';
import { ROUTE_FRAMEWORKS, sessionAccount, startRouteApp, type Headers, type RouteApp } from './support/account-apps';

const open = (app: RouteApp, account: string, signal?: AbortSignal) =>
  fetch(`${app.url}/api/ecom9/events`, { headers: { 'x-account': account }, ...(signal ? { signal } : {}) });

/** Opens streams for the account until one is refused; returns how many were let through (each cancelled). */
async function capacity(app: RouteApp, account: string, upTo = 10): Promise<number> {
  const held: Response[] = [];
  try {
    for (let i = 0; i < upTo; i++) {
      const r = await open(app, account);
      if (r.status !== 200) {
        await r.body?.cancel();
        break;
      }
      held.push(r);
    }
    return held.length;
  } finally {
    await Promise.all(held.map((r) => r.body?.cancel()));
  }
}

/** Waits until `check` holds (a positive signal), or fails after `ms`. */
async function until(check: () => Promise<boolean> | boolean, ms = 3_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A DataLoader-style resolver: every call in a 10 ms window is answered at once. */
function batching() {
  let batch: Array<() => void> = [];
  return (headers: Headers) =>
    new Promise<string | undefined>((resolve) => {
      if (batch.length === 0)
        setTimeout(() => {
          const b = batch;
          batch = [];
          for (const go of b) go();
        }, 10);
      batch.push(() => resolve(sessionAccount(headers)));
    });
}

describe.each(ROUTE_FRAMEWORKS)('%s events streams', (framework) => {
  const env = sharedGateEnv();
  let app: RouteApp;
  beforeAll(async () => {
    app = await startRouteApp(framework, env.gate, { rate: { max: 10_000 }, resolve: batching() });
  });
  afterAll(async () => {
    await app.close();
  });

  it('60 opens pipelined in one write: no slot outlives the connection', async () => {
    const account = `pipe-${framework}`;
    const { port } = new URL(app.url);
    const socket = connect(Number(port), '127.0.0.1');
    await new Promise((r) => socket.once('connect', r));
    const one = `GET /api/ecom9/events HTTP/1.1\r\nHost: 127.0.0.1\r\nx-account: ${account}\r\n\r\n`;
    let seen = '';
    socket.on('error', () => {});
    socket.on('data', (d: Buffer) => void (seen += d.toString()));
    socket.write(one.repeat(60));
    await until(() => seen.includes(': connected'));
    socket.destroy();
    // The account has its five streams again (before, it was refused until gate.close()).
    await until(async () => (await capacity(app, account)) === 5);
  });

  it('50 concurrent opens through a batching resolver: at most 5 streams, the rest 429 with Retry-After', async () => {
    const account = `batch-${framework}`;
    const all = await Promise.all(Array.from({ length: 50 }, () => open(app, account)));
    const ok = all.filter((r) => r.status === 200);
    const refused = all.filter((r) => r.status === 429);
    expect(ok.length).toBe(5);
    expect(refused.length).toBe(45);
    expect(refused[0]?.headers.get('retry-after')).toBe('30');
    expect(((await (refused[0] as Response).clone().json()) as { code: string }).code).toBe('too_many_streams');
    await Promise.all(all.map((r) => r.body?.cancel()));
    await until(async () => (await capacity(app, account)) === 5);
  });

  it('a client gone while the resolver ran gives its slot back', async () => {
    const account = `gone-${framework}`;
    const aborts = Array.from({ length: 5 }, () => new AbortController());
    const opening = aborts.map((a) => open(app, account, a.signal).catch(() => undefined));
    for (const a of aborts) a.abort();
    await Promise.all(opening);
    await until(async () => (await capacity(app, account)) === 5);
  });
});

describe.each(ROUTE_FRAMEWORKS)('%s global cap', (framework) => {
  it('maxStreams bounds the streams of every account together: one more is 429 with Retry-After', async () => {
    await using env = await gateEnv();
    const app = await startRouteApp(framework, env.gate, { maxStreams: 3 });
    try {
      const held = await Promise.all(['a', 'b', 'c'].map((a) => open(app, `cap-${a}`)));
      expect(held.map((r) => r.status)).toEqual([200, 200, 200]);
      const over = await open(app, 'cap-d');
      expect(over.status).toBe(429);
      expect(over.headers.get('retry-after')).toBe('30');
      await over.body?.cancel();
      await held[0]?.body?.cancel();
      await until(async () => (await capacity(app, 'cap-d', 1)) === 1);
      await Promise.all(held.map((r) => r.body?.cancel()));
    } finally {
      await app.close();
    }
  });
});
