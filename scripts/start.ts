// `npm start`: the emulator with demo data, the Express example on top of it, and a narrated tour of
// what the gate does. `npm start -- --once` exits after the tour (0 when every step got the answer it
// expected). With ECOM9_API_KEY set it talks to real ecom9 instead, and only narrates.
import type { AddressInfo } from 'node:net';
import { createEmulator } from 'ecom9-gate/emulator';
import { buildApp } from '../examples/express/app';

const once = process.argv.includes('--once');
const real = Boolean(process.env.ECOM9_API_KEY);
const c = process.stdout.isTTY
  ? { dim: '\x1b[2m', bold: '\x1b[1m', green: '\x1b[32m', red: '\x1b[31m', off: '\x1b[0m' }
  : { dim: '', bold: '', green: '', red: '', off: '' };

const emu = real ? undefined : createEmulator();
const emuUrl = emu ? await emu.listen(0) : undefined;
const { app, gate } = buildApp(emu ? { apiKey: emu.apiKey, baseUrl: emuUrl, webhookSecret: emu.webhookSecret, logger: { warn: () => {} } } : {});
const server = app.listen(Number(process.env.PORT ?? 3000), '127.0.0.1');
await new Promise<void>((resolve) => {
  server.once('listening', resolve);
  server.once('error', () => server.listen(0, '127.0.0.1', resolve)); // port taken: any free port
});
const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

console.log(`${c.bold}ecom9-gate tour${c.off}`);
console.log(
  real
    ? `Talking to real ecom9 at ${process.env.ECOM9_BASE_URL ?? 'https://app.ecom9.com/api/'}`
    : `ecom9 emulator on ${emuUrl} (demo data: acme is on pro with 100 credits, globex on starter with 3)`,
);
console.log(`Express example on ${base}\n`);

let failures = 0;
async function step(
  title: string,
  method: 'GET' | 'POST',
  path: string,
  account: string,
  expect: number,
  show: (b: Record<string, unknown>) => unknown = (b) => b,
) {
  const res = await fetch(base + path, { method, headers: { 'x-account-id': account } });
  const body = (await res.json()) as Record<string, unknown>;
  const ok = real || res.status === expect;
  if (!ok) failures++;
  console.log(`${c.bold}${title}${c.off}`);
  console.log(`${c.dim}  → ${method} ${path}   x-account-id: ${account}${c.off}`);
  console.log(`  ← ${ok ? c.green : c.red}${res.status}${c.off} ${JSON.stringify(show(body))}${ok ? '' : `   ${c.red}(expected ${expect})${c.off}`}\n`);
  return body;
}
const pick =
  (...keys: string[]) =>
  (b: Record<string, unknown>) =>
    Object.fromEntries(keys.filter((k) => k in b).map((k) => [k, b[k]]));

await step('1. A pro account reads a pro-only report', 'GET', '/reports', 'acme', 200);
await step(
  '2. A starter account is refused, with a checkout link for pro',
  'GET',
  '/reports',
  'globex',
  403,
  pick('status', 'code', 'required_tiers', 'upgrade_url'),
);
await step(
  '3. An account without the api_access entitlement is refused',
  'GET',
  '/v1/search?q=gate',
  'globex',
  403,
  pick('status', 'code', 'product', 'entitlement'),
);
await step('4. Generating an image debits 5 prepaid credits', 'POST', '/images', 'acme', 200, (b) => b.credits);
await step(
  '5. Too few credits: 402 with the balance and a top-up link',
  'POST',
  '/images',
  'globex',
  402,
  pick('status', 'code', 'remaining_balance', 'requested', 'top_up_url'),
);

const usageBefore = (await gate.client.usage.summary({ accountRefId: 'acme', productCode: 'api-access', meterCode: 'api_calls' })).total_usage;
for (let i = 0; i < 3; i++) await step(`6.${i + 1} A metered API call`, 'GET', `/v1/search?q=call-${i}`, 'acme', 200);
await gate.flush();
const usageAfter = (await gate.client.usage.summary({ accountRefId: 'acme', productCode: 'api-access', meterCode: 'api_calls' })).total_usage;
const metered = usageAfter - usageBefore;
if (!real && metered !== 3) failures++;
console.log(`${c.bold}7. Usage recorded in the background, after each response${c.off}`);
console.log(
  `  usage summary for acme / api-access / api_calls: ${usageBefore} → ${usageAfter}  (${metered === 3 || real ? c.green : c.red}+${metered}${c.off})\n`,
);

if (emu) {
  emu.setSubscription('acme', 'studio-suite', 'pro', 'canceled');
  const hook = await emu.sendWebhook(`${base}/webhooks/ecom9`, { event: 'subscription-cancelled', account_ref_id: 'acme' });
  if (hook.status !== 200) failures++;
  console.log(`${c.bold}8. ecom9 sends a signed webhook: acme cancelled${c.off}`);
  console.log(`  → POST /webhooks/ecom9   ← ${hook.status} ${hook.body}\n`);
  await step('9. The very next request from acme is denied', 'GET', '/reports', 'acme', 403, pick('status', 'code', 'detail'));
  emu.setSubscription('acme', 'studio-suite', 'pro', 'active');
  gate.invalidate('acme');
}

const s = gate.stats();
console.log(
  `${c.bold}Gate stats${c.off}: ${s.cacheHits} cache hits, ${s.cacheMisses} misses, ${s.debits} debits, ${s.usageSent} usage events sent, ${s.webhooksReceived} webhooks\n`,
);
console.log(
  failures === 0 ? `${c.green}Every step got the answer it should.${c.off}` : `${c.red}${failures} step(s) did not get the answer they should.${c.off}`,
);

if (once) {
  await gate.close();
  server.close();
  await emu?.close();
  process.exit(failures === 0 ? 0 : 1);
}
console.log(`\nStill serving (Ctrl-C to stop). Try:
  curl -i -H 'x-account-id: acme'   ${base}/reports
  curl -i -H 'x-account-id: globex' ${base}/reports
  curl -i -H 'x-account-id: acme'   -X POST ${base}/images
  curl -i -H 'x-account-id: acme'   -H 'Idempotency-Key: demo-1' -X POST ${base}/images   # run twice: charged once
  curl -i -H 'x-account-id: acme'   '${base}/v1/search?q=hello'`);
