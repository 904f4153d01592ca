// `ecom9-gate-emulator` as a user runs it (src/emulator/bin.ts under tsx): a bad flag, port, webhook URL
// or fixtures key exits 2 naming it and the nearest known name; a good run prints the console's URL and
// sends a console change, signed, to each --webhook-url.
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';

const bin = fileURLToPath(new URL('../src/emulator/bin.ts', import.meta.url));

function run(args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', bin, ...args], { timeout: 30_000 }, (e, out, err) =>
      resolve({ code: e ? (typeof e.code === 'number' ? e.code : null) : 0, out, err }),
    );
  });
}

describe('bad input exits 2, naming what is wrong', () => {
  const fixtures = join(mkdtempSync(join(tmpdir(), 'emu-cli-')), 'fixtures.json');
  writeFileSync(fixtures, JSON.stringify({ accounts: [{ account_ref_id: 'a', subscriptons: [] }] }));
  it.each([
    [['--prot', '4010'], 'unknown flag "--prot" (did you mean "--port"?)'],
    [['--webhook-urls', 'http://127.0.0.1:1/'], 'unknown flag "--webhook-urls" (did you mean "--webhook-url"?)'],
    [['--port', 'eighty'], '--port must be a port number (0-65535), not "eighty"'],
    [['--port', '0', '--webhook-url', 'ftp://example.com/'], '--webhook-url #1 is not an http(s) URL'],
    [['--port', '0', '--fixtures', fixtures], 'accounts.0.subscriptons: unknown field "subscriptons" (did you mean "subscriptions"?)'],
  ])(
    '%j',
    async (args, message) => {
      const r = await run(args);
      expect(r.err).toContain(message);
      expect(r.err).toContain('usage: ecom9-gate-emulator');
      expect(r.code).toBe(2);
    },
    30_000,
  );
});

describe('a good run', () => {
  it('prints the console URL and sends a console change, signed, to its --webhook-url', async () => {
    const received: Array<{ body: string; headers: Record<string, string> }> = [];
    const receiver = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        received.push({ body, headers: req.headers as Record<string, string> });
        res.end('{"received":true}');
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    const hookUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/webhooks/ecom9`;
    const proc = spawn(process.execPath, ['--import', 'tsx', bin, '--port', '0', '--webhook-url', hookUrl], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      let out = '';
      const consoleUrl = await new Promise<string>((resolve, reject) => {
        proc.stdout.on('data', (d: Buffer) => {
          out += d.toString();
          const m = /console: +(http:\/\/\S+)/.exec(out);
          if (m && out.includes('webhooks to:')) resolve(m[1] as string);
        });
        proc.once('exit', (code) => reject(new Error(`the emulator exited with ${code}: ${out}`)));
      });
      expect(out).toContain(`webhooks to:    ${hookUrl}`);
      expect((await fetch(consoleUrl)).headers.get('content-type')).toBe('text/html; charset=utf-8');
      const secret = /webhook secret: (\S+)/.exec(out)?.[1] as string;
      const res = await fetch(`${consoleUrl}__emulator/accounts/acme/credits/ai-images/credits`, {
        method: 'PUT',
        headers: { 'x-api-key': 'emu_test_key' },
        body: JSON.stringify({ balance: 1 }),
      });
      expect(res.status).toBe(200);
      expect(received).toHaveLength(1);
      expect(new Webhook(secret).verify(received[0]?.body as string, received[0]?.headers as Record<string, string>)).toMatchObject({
        event: 'credits-updated',
        account_ref_id: 'acme',
        balance: 1,
      });
    } finally {
      proc.kill('SIGTERM');
      await new Promise((r) => (proc.exitCode === null ? proc.once('exit', r) : r(undefined)));
      await new Promise((r) => receiver.close(r));
    }
  }, 30_000);
});
