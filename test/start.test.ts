// `npm start -- --once`: the narrated tour runs end to end against the emulator and exits 0.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { expect, it } from 'vitest';

it('the npm start tour gets every answer it expects', () => {
  const root = join(__dirname, '..');
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/start.ts', '--once'], {
    cwd: root,
    env: { ...process.env, PORT: '0', ECOM9_API_KEY: '' },
    encoding: 'utf8',
    timeout: 60_000,
  });
  expect(r.stdout).toContain('Every step got the answer it should.');
  expect(r.stdout).toMatch(/9\. The very next request from acme is denied[\s\S]*← 403/);
  expect(r.status).toBe(0);
}, 60_000);
