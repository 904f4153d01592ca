// Attack: DNS rebinding against the emulator console's API. The console page (which carries the key)
// is refused to a Host that is not localhost or an IP address, but the key is the well-known default
// ('emu_test_key'), so a page whose DNS name was rebound to 127.0.0.1 needs no page: same-origin for
// the browser, it reads /__emulator/state (every account, email, balance) and drives the console
// (balances, cancellations, faults, signed webhooks to the app). The console API now answers such a
// Host 403, as the page does.
import { request } from 'node:http';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Emulator } from 'ecom9-gate/emulator';
import { startEmulator } from './support/env';

let emu: Emulator;
beforeAll(async () => {
  emu = await startEmulator();
  emu.setAccount('victim-co', { customerEmail: 'cfo@victim.example' });
});
afterAll(async () => {
  await emu.close();
});

/** A request as a rebound page sends it: its own name as Host, the default key in a header. */
function rebound(method: string, path: string, host: string, body?: string): Promise<{ status: number; text: string }> {
  const u = new URL(emu.url);
  return new Promise((resolve, reject) => {
    const req = request(
      { host: u.hostname, port: u.port, method, path, headers: { host, 'x-api-key': 'emu_test_key', 'content-type': 'application/json' } },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

it('refuses the console API to a Host that names another site', async () => {
  const state = await rebound('GET', '/__emulator/state', 'evil.example:8080');
  expect(state.status).toBe(403);
  expect(state.text).not.toContain('cfo@victim.example');
  const set = await rebound('PUT', '/__emulator/accounts/victim-co/credits/ai-images/credits', 'evil.example', '{"balance":0}');
  expect(set.status).toBe(403);
});

it('still serves it to localhost and to an IP address', async () => {
  expect((await rebound('GET', '/__emulator/state', 'localhost')).status).toBe(200);
  expect((await rebound('GET', '/__emulator/state', new URL(emu.url).host)).status).toBe(200);
});
