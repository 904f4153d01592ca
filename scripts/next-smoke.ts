// The Next.js example, built and served for real: installs its dependencies, runs `next build`, starts
// `next start` against the emulator (run here) and checks each route's status and body over HTTP,
// and what reached ecom9. Needs the package built (`npm run build`): the example links it (file:../..).
//   npx tsx scripts/next-smoke.ts
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { strict as assert } from 'node:assert';
import { fileURLToPath } from 'node:url';
import { createEmulator } from 'ecom9-gate/emulator';

const dir = fileURLToPath(new URL('../examples/next/', import.meta.url));
const env = { ...process.env, NEXT_TELEMETRY_DISABLED: '1' };
const t0 = Date.now();
const step = (what: string) => console.log(`next-smoke: ${what} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);

function run(cmd: string, args: string[], extra: Record<string, string> = {}) {
  const r = spawnSync(cmd, args, { cwd: dir, env: { ...env, ...extra }, stdio: 'inherit' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status ?? r.signal})`);
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`next-smoke: timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

if (!existsSync(fileURLToPath(new URL('../dist/fetch.js', import.meta.url)))) throw new Error('next-smoke: dist/ is missing: run npm run build first');
// `npm install`, not `npm ci`: the lock also records the linked package's own dependencies, which change
// with every dependency the package adds; its versions of next and react still hold.
run('npm', ['install', '--no-audit', '--no-fund']);
step('installed');
// No ecom9 settings at build time: the gate must not need them until a request comes.
run('npx', ['--no-install', 'next', 'build']);
step('built');

const emu = createEmulator();
const base = await emu.listen(0, '127.0.0.1');
emu.setAccount('next-pro', { customerEmail: 'pro@example.com', subscriptions: [{ subscription: 'studio-suite', tier: 'pro' }] });
emu.setAccount('next-edge', { customerEmail: 'edge@example.com', subscriptions: [{ subscription: 'studio-suite', tier: 'pro' }] });
emu.setAccount('next-free', { customerEmail: 'free@example.com', subscriptions: [{ subscription: 'studio-suite', tier: 'starter' }] });
emu.setEntitlement('next-pro', 'pro-api', 'api_access', true);
emu.setCredits('next-pro', 'ai-images', 'credits', 12);
emu.setCredits('next-free', 'ai-images', 'credits', 2);

const port = await freePort();
const app = `http://127.0.0.1:${port}`;
const server = spawn('npx', ['--no-install', 'next', 'start', '-p', String(port), '-H', '127.0.0.1'], {
  cwd: dir,
  env: { ...env, ECOM9_API_KEY: emu.apiKey, ECOM9_BASE_URL: base, ECOM9_WEBHOOK_SECRET: emu.webhookSecret },
  stdio: ['ignore', 'inherit', 'inherit'],
  detached: true,
});
const stop = () => {
  try {
    if (server.pid) process.kill(-server.pid, 'SIGTERM');
  } catch {}
};

const as = (account: string | undefined, init: RequestInit = {}) =>
  ({ ...init, headers: { ...(account ? { 'x-account-id': account } : {}), ...(init.headers as Record<string, string>) } }) as RequestInit;
const problem = async (res: Response) => {
  assert.match(res.headers.get('content-type') ?? '', /^application\/problem\+json/);
  return (await res.json()) as { code: string; status: number };
};

try {
  await until('next start', async () => ((await fetch(`${app}/`)).ok ? true : undefined), 30_000);
  step(`serving on ${app}`);

  // Route handlers: allowed, denied by tier, no account.
  let res = await fetch(`${app}/api/reports`, as('next-pro'));
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), { report: 'quarterly numbers', account: 'next-pro', source: 'upstream' });
  res = await fetch(`${app}/api/reports`, as('next-pro'));
  assert.equal(((await res.json()) as { source: string }).source, 'cache');
  res = await fetch(`${app}/api/reports`, as('next-free'));
  assert.equal(res.status, 403);
  assert.equal((await problem(res)).code, 'tier_required');
  res = await fetch(`${app}/api/reports`);
  assert.equal(res.status, 401);

  // The same guard on the Edge runtime (export const runtime = 'edge'): its own isolate, its own gate.
  res = await fetch(`${app}/api/edge/reports`, as('next-edge'));
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), { report: 'quarterly numbers', account: 'next-edge', source: 'upstream', runtime: 'edge' });
  res = await fetch(`${app}/api/edge/reports`, as('next-edge'));
  assert.equal(((await res.json()) as { source: string }).source, 'cache');
  assert.equal(emu.callCount('accounts.status', 'next-edge'), 1);
  res = await fetch(`${app}/api/edge/reports`, as('next-free'));
  assert.equal(res.status, 403);
  assert.equal((await problem(res)).code, 'tier_required');

  // The proxy: /dashboard renders for pro, answers problem+json for the rest, from the same gate (cached).
  res = await fetch(`${app}/dashboard`, as('next-pro'));
  assert.equal(res.status, 200);
  assert.match(await res.text(), /pro dashboard/);
  assert.equal(emu.callCount('accounts.status', 'next-pro'), 1, 'the proxy and the route handlers share one gate and its cache');
  res = await fetch(`${app}/dashboard`, as('next-free'));
  assert.equal(res.status, 403);
  assert.equal((await problem(res)).code, 'tier_required');

  // Entitlement, then metering: one api_calls event per successful answer.
  res = await fetch(`${app}/api/search?q=shoes`, as('next-pro'));
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), { results: ['match for shoes'] });
  res = await fetch(`${app}/api/search?q=shoes`, as('next-free'));
  assert.equal(res.status, 403);
  assert.equal((await problem(res)).code, 'entitlement_required');
  await until('the metered event', async () => (emu.usageTotal('next-pro', 'api-access', 'api_calls') === 1 ? true : undefined));
  assert.equal(emu.usageTotal('next-free', 'api-access', 'api_calls'), 0);

  // Credits: a retry with the same Idempotency-Key is charged once; too few credits is a 402.
  const images = (account: string, key: string) => fetch(`${app}/api/images`, as(account, { method: 'POST', headers: { 'idempotency-key': key } }));
  assert.equal((await images('next-pro', 'img-1')).status, 200);
  res = await images('next-pro', 'img-1');
  assert.equal(res.status, 200);
  assert.equal(((await res.json()) as { image: string }).image, 'https://example.com/generated.png');
  assert.equal(emu.credits('next-pro', 'ai-images', 'credits'), 7);
  res = await images('next-free', 'img-2');
  assert.equal(res.status, 402);
  assert.equal((await problem(res)).code, 'insufficient_credits');
  assert.equal(emu.credits('next-free', 'ai-images', 'credits'), 2);

  // Webhooks: a forged one is refused, a GET is 405, a signed one drops the cached tier, in the proxy too.
  const hook = `${app}/api/webhooks/ecom9`;
  assert.equal((await emu.sendWebhook(hook, { event: 'subscription.updated', account_ref_id: 'next-pro' }, { secret: 'whsec_Zm9yZ2Vk' })).status, 401);
  assert.equal((await fetch(hook)).status, 405);
  emu.setSubscription('next-pro', 'studio-suite', 'starter', 'active');
  assert.equal((await emu.sendWebhook(hook, { event: 'subscription.updated', account_ref_id: 'next-pro' })).status, 200);
  assert.equal((await fetch(`${app}/dashboard`, as('next-pro'))).status, 403);
  assert.equal((await fetch(`${app}/api/reports`, as('next-pro'))).status, 403);
  step('all routes answered as expected');
} finally {
  stop();
  await emu.close();
}
