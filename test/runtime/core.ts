// The core alone on Bun or Deno, run by test/runtimes.test.ts with that runtime's binary: the client
// and a gate against the Node emulator (ECOM9_BASE_URL), the usage spool through an outage and a
// restart, a signed webhook, and an emulator served by this runtime itself. It prints one JSON line of
// what it saw; the test asserts it and what reached the emulator.
import process from 'node:process';
import { createClient, createGate, type Gate } from 'ecom9-gate';
import { createEmulator } from 'ecom9-gate/emulator';

const env = (name: string): string => {
  const v = process.env[name];
  if (!v) throw new Error(`core.ts: ${name} is not set`);
  return v;
};
const baseUrl = env('ECOM9_BASE_URL');
const apiKey = env('ECOM9_API_KEY');
const spoolPath = env('SPOOL_PATH');
const fast = { http: { timeoutMs: 2_000, maxRetries: 1, retryBaseMs: 1, retryMaxMs: 5 }, logger: { warn: () => {} } };
const out: Record<string, unknown> = {
  runtime: 'Bun' in globalThis ? 'bun' : 'Deno' in globalThis ? 'deno' : 'node',
};

// The client: a read, and one debit sent twice with the same event_key.
const client = createClient({ apiKey, baseUrl, timeoutMs: 2_000 });
out.status = (await client.accounts.status({ accountRefId: 'rt-pro' })).customer_email;
const debit = { accountRefId: 'rt-pro', productCode: 'ai-images', meterCode: 'credits', quantity: 2, eventKey: `rt-debit-${out.runtime}` };
out.debits = [await client.credits.debit(debit), await client.credits.debit(debit)].map((d) => d.remaining_balance);
out.notFound = await client.accounts.status({ accountRefId: 'rt-nobody' }).then(
  () => 'resolved',
  (e: Error) => e.name,
);
await client.close();

// The gate: decisions (the second from cache), and a typed error for a dead ecom9.
const gate = createGate({ apiKey, baseUrl, ...fast });
out.tier = [(await gate.checkTier('rt-pro', { tiers: 'pro' })).code, (await gate.checkTier('rt-pro', { tiers: 'pro' })).source];
out.starter = (await gate.checkTier('rt-free', { tiers: 'pro' })).code;
await gate.close();
const dead = createClient({ apiKey, baseUrl: env('DEAD_URL'), timeoutMs: 1_000, maxRetries: 1, retryBaseMs: 1, retryMaxMs: 2 });
out.dead = await dead.accounts.status({ accountRefId: 'rt-pro' }).then(
  () => 'resolved',
  (e: Error & { code?: string }) => e.code,
);
await dead.close();

// The spool: an event recorded while ecom9 is down stays in the journal, and the next start sends it.
const down: Gate = createGate({ apiKey, baseUrl: env('DEAD_URL'), ...fast, usage: { spoolPath, maxAttempts: 1, retryBaseMs: 1, retryMaxMs: 2 } });
down.recordUsage({ accountRefId: 'rt-pro', product: 'api-access', meter: 'api_calls', quantity: 3, eventKey: `rt-spool-${out.runtime}` });
await down.flush();
await down.close();
const up: Gate = createGate({ apiKey, baseUrl, ...fast, usage: { spoolPath, retryBaseMs: 1, retryMaxMs: 2 } });
await up.flush();
await up.close();

// An emulator served by this runtime, and a webhook it signs, verified by a gate here.
const local = createEmulator();
const localUrl = await local.listen(0, '127.0.0.1');
const seen: string[] = [];
const hooks = createGate({ apiKey: local.apiKey, baseUrl: localUrl, webhookSecret: local.webhookSecret, ...fast });
hooks.onWebhook('subscription.created', (e) => void seen.push(e.account_ref_id));
out.localTier = (await hooks.checkTier('acme', { tiers: ['pro', 'starter', 'enterprise'] })).allowed;
out.localCalls = local.callCount('accounts.status', 'acme');
const signed = local.buildWebhook({ event: 'subscription.created', account_ref_id: 'acme' });
out.webhook = (await hooks.handleWebhook({ rawBody: signed.body, headers: signed.headers })).status;
out.forged = (await hooks.handleWebhook({ rawBody: signed.body.replace('acme', 'evil'), headers: signed.headers })).status;
out.seen = seen;
await hooks.close();
await local.close();

console.log(JSON.stringify(out));
