// Attack: path tricks on Nest's webhook route (both platforms): case, a trailing slash, a doubled
// slash, an encoded slash, a query, an absolute-form target, dot segments. Each signed delivery is
// either served (200, on the bytes as sent) or not found (404): never a hang, a 5xx, or a body the
// reader took from a request no webhook route then served.
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sharedGateEnv } from './support/gate-env';
import { PLATFORMS, startNestApp, type RunningNest } from './support/nest-app';

function raw(url: string, target: string, headers: Record<string, string>, body: string): Promise<number> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(u.port), u.hostname, () => {
      const head = Object.entries({ ...headers, 'content-length': String(Buffer.byteLength(body)) })
        .map(([k, v]) => `${k}: ${v}`)
        .join('\r\n');
      socket.write(`POST ${target} HTTP/1.1\r\nHost: ${u.host}\r\nConnection: close\r\n${head}\r\n\r\n${body}`);
    });
    let text = '';
    socket.setTimeout(3000, () => socket.destroy(new Error(`no answer to ${target}`)));
    socket.on('data', (c) => (text += c));
    socket.on('error', reject);
    socket.on('close', () => resolve(Number(text.split(' ')[1])));
  });
}

describe.each(PLATFORMS)('Nest on %s: webhook path tricks', (platform) => {
  const env = sharedGateEnv();
  let app: RunningNest;
  beforeAll(async () => {
    app = await startNestApp(platform, env.gate);
  });
  afterAll(async () => {
    await app.close();
  });
  it.each([
    '/webhooks/ecom9',
    '/WEBHOOKS/ECOM9',
    '/webhooks/ecom9/',
    '/Webhooks/Ecom9/',
    '/webhooks/ecom9//',
    '//webhooks/ecom9',
    '/webhooks//ecom9',
    '/webhooks%2Fecom9',
    '/webhooks/ecom9%2F',
    '/webhooks/%65com9',
    '/webhooks/ecom9?x=1',
    '/webhooks/./ecom9',
    '/x/../webhooks/ecom9',
    'http://evil.example/webhooks/ecom9',
  ])('%s', async (target) => {
    const { body, headers } = env.emu.buildWebhook({ event: 'subscription-updated', account_ref_id: 'acc' });
    const status = await raw(app.url, target, { ...headers, 'content-type': 'application/json' } as Record<string, string>, body);
    expect([200, 404]).toContain(status);
    // The route's own path (a query does not change it) is served: a reader that refused it would pass the line above.
    if (target === '/webhooks/ecom9' || target === '/webhooks/ecom9?x=1') expect(status).toBe(200);
  });
});
