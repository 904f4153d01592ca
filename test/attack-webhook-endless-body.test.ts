// Attack: a webhook body sent chunked and without end. Every router answers 413 once it passes the
// limit; Express, Koa and Nest on Express then drained the rest for as long as the sender kept sending
// (no Connection: close on the 413), a connection and the server's reading held open at the sender's
// will. The 413 now closes the connection, as the 408 does (and as Fastify did already).
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sharedGateEnv } from './support/gate-env';
import { SCENARIO_FRAMEWORKS, startApp, type RunningApp } from './support/apps';

describe.each(SCENARIO_FRAMEWORKS)('%s endless chunked webhook body', (fw) => {
  const env = sharedGateEnv({ gate: { webhooks: { bodyTimeoutMs: 5000 } } });
  let app: RunningApp;
  beforeAll(async () => {
    app = await startApp(fw, env.gate);
  });
  afterAll(async () => {
    await app.close();
  });
  it('is answered 413 and its connection closed while the sender keeps sending', async () => {
    const u = new URL(app.url);
    const socket = net.connect(Number(u.port), u.hostname);
    let text = '';
    socket.on('data', (c) => (text += c));
    socket.on('error', () => {});
    const closed = new Promise<void>((r) => socket.once('close', () => r()));
    socket.write(`POST /webhooks/ecom9 HTTP/1.1\r\nHost: x\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n`);
    const chunk = 'x'.repeat(16 * 1024);
    const timer = setInterval(() => socket.writable && socket.write(`${chunk.length.toString(16)}\r\n${chunk}\r\n`), 5);
    const t0 = Date.now();
    await Promise.race([closed, new Promise((r) => setTimeout(r, 3000))]);
    clearInterval(timer);
    const took = Date.now() - t0;
    socket.destroy();
    expect(text).toMatch(/^HTTP\/1\.1 413/);
    expect(took).toBeLessThan(2000);
  });
});
