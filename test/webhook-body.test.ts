// A webhook body that trickles in is given up on after webhooks.bodyTimeoutMs (408, connection
// closed), and one whose sender leaves mid-way is no error of the app's, on every adapter.
import net from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { sharedGateEnv } from './support/gate-env';
import { SCENARIO_FRAMEWORKS, appErrors, startApp, type RunningApp } from './support/apps';

/** Opens a POST to the webhook route declaring 200 bytes, and writes one byte every `everyMs` until stopped. */
function trickle(url: string, everyMs: number) {
  const u = new URL(url);
  const socket = net.connect(Number(u.port), u.hostname);
  let text = '';
  socket.on('data', (c) => (text += c));
  socket.on('error', () => {});
  const closed = new Promise<void>((r) => socket.once('close', () => r()));
  socket.write(`POST ${u.pathname} HTTP/1.1\r\nHost: ${u.host}\r\ncontent-type: application/json\r\ncontent-length: 200\r\n\r\n{`);
  const timer = setInterval(() => socket.writable && socket.write(' '), everyMs);
  return {
    answer: async () => {
      await closed;
      clearInterval(timer);
      return text;
    },
    /** The sender leaves mid-body. */
    leave: () => {
      clearInterval(timer);
      socket.destroy();
    },
    closed,
  };
}

describe.each(SCENARIO_FRAMEWORKS)('%s webhook body', (fw) => {
  const env = sharedGateEnv({ gate: { webhooks: { bodyTimeoutMs: 300 } } });
  let app: RunningApp;
  beforeAll(async () => {
    app = await startApp(fw, env.gate);
  });
  afterAll(async () => {
    await app.close();
  });
  beforeEach(() => void (appErrors.length = 0));

  it('answers 408 to a body that trickles past bodyTimeoutMs, and closes the connection', async () => {
    const t = trickle(`${app.url}/webhooks/ecom9`, 50);
    const text = await t.answer();
    expect(text).toMatch(/^HTTP\/1\.1 408 /);
    expect(text).toContain('request_timeout');
    expect(env.gate.stats().invalidations).toBe(0);
  });

  it('a sender that leaves mid-body reaches no error handler of the app', async () => {
    const t = trickle(`${app.url}/webhooks/ecom9`, 20);
    await new Promise((r) => setTimeout(r, 60));
    t.leave();
    await t.closed;
    // A request after it is answered: the server is fine, and no error reached the app.
    const res = await fetch(`${app.url}/webhooks/ecom9`, { method: 'GET' });
    expect(res.status).toBe(405);
    await new Promise((r) => setTimeout(r, 400));
    expect(appErrors).toEqual([]);
  });
});
