// `npm start`: the emulator with demo data (and its console), the Express example on top of it, and a
// narrated tour of what the gate does. `npm start -- --once` exits after the tour: 0 when every step got the status and
// body it expects, 1 otherwise. With ECOM9_API_KEY set it talks to real ecom9 instead (see realConfig).
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createEmulator } from 'ecom9-gate/emulator';
import { buildApp } from '../examples/express/app';

const once = process.argv.includes('--once');
const write = process.argv.includes('--write');
const real = Boolean(process.env.ECOM9_API_KEY);
const c = process.stdout.isTTY
  ? { dim: '\x1b[2m', bold: '\x1b[1m', green: '\x1b[32m', red: '\x1b[31m', off: '\x1b[0m' }
  : { dim: '', bold: '', green: '', red: '', off: '' };

// Real mode: no demo data to lean on, so the accounts are named explicitly, and the steps that spend
// credits or record usage on them only run with --write.
const account = process.env.ECOM9_TOUR_ACCOUNT || (real ? '' : 'acme');
const denied = process.env.ECOM9_TOUR_DENIED_ACCOUNT || (real ? '' : 'globex');
if (!account || !denied) {
  console.error(
    'With ECOM9_API_KEY set the tour talks to real ecom9. Name its accounts:\n' +
      '  ECOM9_TOUR_ACCOUNT         on studio-suite pro, with pro-api/api_access and 5+ ai-images credits\n' +
      '  ECOM9_TOUR_DENIED_ACCOUNT  below pro, without api_access, with fewer than 5 credits\n' +
      'Add --write to let it debit credits and record usage on them.',
  );
  process.exit(1);
}

// The app's port first: the emulator's console sends its changes to the app's webhook route.
const server = createServer();
server.listen(Number(process.env.PORT ?? 3000), '127.0.0.1');
await new Promise<void>((resolve) => {
  server.once('listening', resolve);
  server.once('error', () => server.listen(0, '127.0.0.1', resolve)); // port taken: any free port
});
const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

// ECOM9_TOUR_FIXTURES (emulator only): another fixtures file. The expectations stay the demo data's.
// EMULATOR_PORT: the emulator's port (its console is at its root); 4010 unless taken, then any free one.
const emu = real
  ? undefined
  : createEmulator({
      ...(process.env.ECOM9_TOUR_FIXTURES ? { fixtures: process.env.ECOM9_TOUR_FIXTURES } : {}),
      webhookUrls: [`${base}/webhooks/ecom9`],
    });
const emuUrl = emu ? await emu.listen(Number(process.env.EMULATOR_PORT ?? 4010)).catch(() => emu.listen(0)) : undefined;
const { app, gate } = buildApp(emu ? { apiKey: emu.apiKey, baseUrl: emuUrl, webhookSecret: emu.webhookSecret } : {});
server.on('request', app);

console.log(`${c.bold}ecom9-gate tour${c.off}`);
console.log(
  real
    ? `Talking to real ecom9 at ${process.env.ECOM9_BASE_URL || 'https://app.ecom9.com/api/'} as ${account} and ${denied}` +
        (write ? ' (--write: it will debit credits and record usage)' : ' (read-only; --write adds the credit and usage steps)')
    : `ecom9 emulator on ${emuUrl} (${process.env.ECOM9_TOUR_FIXTURES ? `fixtures from ${process.env.ECOM9_TOUR_FIXTURES}` : 'demo data'}: ` +
        `the tour expects ${account} on pro with 100 credits, ${denied} on starter with 3)`,
);
console.log(`Express example on ${base}`);
console.log(`React page (the browser routes): ${base}/app?account=${account || 'acme'}  (open it before step 8 to watch step 9 flip it)`);
console.log(`Pricing and billing components: ${base}/app/billing?account=${account || 'acme'}  (initech: the past-due banner; &theme=dark)`);
if (emu) console.log(`Emulator console: ${emu.consoleUrl}  (change a tier, credits or faults; each change reaches the app as a signed webhook)`);
console.log('');

/** An expected value: a literal, or a test with the words shown when it fails. */
type Want = string | number | boolean | { label: string; ok: (v: unknown) => boolean };
const aUrl: Want = { label: '<a URL>', ok: (v) => typeof v === 'string' && /^https?:\/\//.test(v) };
const at = (b: unknown, path: string) => path.split('.').reduce<unknown>((v, k) => (v as Record<string, unknown> | undefined)?.[k], b);
const label = (w: Want) => (typeof w === 'object' ? w.label : JSON.stringify(w));
const misses = (b: unknown, want: Record<string, Want>) => Object.entries(want).filter(([k, w]) => (typeof w === 'object' ? !w.ok(at(b, k)) : at(b, k) !== w));

let failures = 0;
/** Emulator: a step passes on its status and every wanted body field. Real ecom9: unless 5xx or unreachable. */
function verdict(title: string, status: number, body: unknown, want: { status: number; body?: Record<string, Want> }) {
  const wanted = Object.entries(want.body ?? {});
  const ok = real ? status < 500 : status === want.status && misses(body, want.body ?? {}).length === 0;
  if (!ok) failures++;
  const expected = real ? 'not a 5xx' : `${want.status} with ${wanted.map(([k, w]) => `${k}=${label(w)}`).join(', ') || 'any body'}`;
  return { ok, why: ok ? '' : `   ${c.red}✗ ${title}: expected ${expected}${c.off}` };
}

async function step(
  title: string,
  method: 'GET' | 'POST',
  path: string,
  who: string,
  want: { status: number; body?: Record<string, Want> },
  show: (b: Record<string, unknown>) => unknown = (b) => b,
) {
  console.log(`${c.bold}${title}${c.off}`);
  console.log(`${c.dim}  → ${method} ${path}   x-account-id: ${who}${c.off}`);
  let res: Response;
  try {
    res = await fetch(base + path, { method, headers: { 'x-account-id': who } });
  } catch (err) {
    failures++;
    console.log(`  ${c.red}✗ no answer: ${(err as Error).message}${c.off}\n`);
    return;
  }
  const body = parseJson(await res.text());
  const v = verdict(title.split(' ')[0] ?? title, res.status, body, want);
  const shown = show(body);
  // A miss, or a picker that found nothing, prints the whole body: it is what tells you what went wrong.
  const full = !v.ok || shown === undefined || (typeof shown === 'object' && shown !== null && Object.keys(shown).length === 0);
  console.log(`  ← ${v.ok ? c.green : c.red}${res.status}${c.off} ${JSON.stringify(full ? body : shown)}`);
  console.log(v.why ? `${v.why}\n` : '');
}
function parseJson(text: string): Record<string, unknown> {
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch {
    return { body: text }; // not JSON (a framework's own 404 page, say): shown as it came
  }
}
const pick =
  (...keys: string[]) =>
  (b: Record<string, unknown>) =>
    Object.fromEntries(keys.filter((k) => k in b).map((k) => [k, b[k]]));

await step('1. A pro account reads a pro-only report', 'GET', '/reports', account, { status: 200, body: { report: 'quarterly numbers', account } });
await step(
  '2. A starter account is refused, with a checkout link for pro',
  'GET',
  '/reports',
  denied,
  { status: 403, body: { code: 'tier_required', upgrade_url: aUrl } },
  pick('status', 'code', 'required_tiers', 'upgrade_url'),
);
await step(
  '3. An account without the api_access entitlement is refused',
  'GET',
  '/v1/search?q=gate',
  denied,
  { status: 403, body: { code: 'entitlement_required', entitlement: 'api_access' } },
  pick('status', 'code', 'product', 'entitlement'),
);

if (real && !write) {
  console.log(`${c.dim}4-7. Skipped: they debit credits and record usage on ${account} and ${denied}. Add --write to run them.${c.off}\n`);
} else {
  await step(
    '4. Generating an image debits 5 prepaid credits',
    'POST',
    '/images',
    account,
    { status: 200, body: { 'credits.debited': 5, 'credits.remainingBalance': 95 } },
    (b) => b.credits,
  );
  await step(
    '5. Too few credits: 402 with the balance and a top-up link',
    'POST',
    '/images',
    denied,
    { status: 402, body: { code: 'insufficient_credits', remaining_balance: 3, requested: 5, top_up_url: aUrl } },
    pick('status', 'code', 'remaining_balance', 'requested', 'top_up_url'),
  );
  await meteredSteps();
}

async function meteredSteps() {
  const summary = { accountRefId: account, productCode: 'api-access', meterCode: 'api_calls' };
  const sent = emu?.callCount('usage.record') ?? 0;
  try {
    const before = (await gate.client.usage.summary(summary)).total_usage;
    for (let i = 0; i < 3; i++)
      await step(`6.${i + 1} A metered API call`, 'GET', `/v1/search?q=call-${i}`, account, { status: 200, body: { 'results.0': `match for call-${i}` } });
    await gate.flush();
    const after = (await gate.client.usage.summary(summary)).total_usage;
    const ok = real || after - before === 3;
    if (!ok) failures++;
    // The gate sums a route's events before sending them: three requests, usually one call to ecom9.
    const calls = emu ? ` in ${emu.callCount('usage.record') - sent} usage.record call(s)` : '';
    console.log(`${c.bold}7. Usage recorded in the background, after each response${c.off}`);
    console.log(`  usage summary for ${account} / api-access / api_calls: ${before} → ${after}  (${ok ? c.green : c.red}+${after - before}${c.off}${calls})`);
    console.log(ok ? '' : `   ${c.red}✗ 7.: expected +3${c.off}\n`);
  } catch (err) {
    failures++;
    console.log(`${c.bold}7. Usage recorded in the background${c.off}\n  ${c.red}✗ the usage summary failed: ${(err as Error).message}${c.off}\n`);
  }
}

if (emu) {
  emu.setSubscription(account, 'studio-suite', 'pro', 'canceled');
  const hook = await emu.sendWebhook(`${base}/webhooks/ecom9`, { event: 'subscription-cancelled', account_ref_id: account });
  const v = verdict('8.', hook.status, parseJson(hook.body), { status: 200, body: { received: true } });
  console.log(`${c.bold}8. ecom9 sends a signed webhook: ${account} cancelled${c.off}`);
  console.log(`  → POST /webhooks/ecom9   ← ${hook.status} ${hook.body}\n${v.why ? `${v.why}\n` : ''}`);
  await step(
    `9. The very next request from ${account} is denied`,
    'GET',
    '/reports',
    account,
    { status: 403, body: { code: 'tier_required' } },
    pick('status', 'code', 'detail'),
  );
  emu.setSubscription(account, 'studio-suite', 'pro', 'active');
  gate.invalidate(account);
} else {
  console.log(`${c.dim}8-9. Skipped: a cancellation webhook needs the emulator (real ecom9 sends its own).${c.off}\n`);
}

const s = gate.stats();
console.log(
  `${c.bold}Gate stats${c.off}: ${s.cacheHits} cache hits, ${s.cacheMisses} misses, ${s.debits} debits, ${s.usageSent} usage events sent, ${s.webhooksReceived} webhooks\n`,
);
if (real)
  console.log(
    failures === 0
      ? 'Answers not checked against real ecom9: read them above. None was a 5xx or went unanswered.'
      : `${c.red}${failures} step(s) got a 5xx or no answer.${c.off}`,
  );
else
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
  curl -i -H 'x-account-id: ${account}' ${base}/reports
  curl -i -H 'x-account-id: ${denied}' ${base}/reports
  curl -i -H 'x-account-id: ${account}' -X POST ${base}/images
  curl -i -H 'x-account-id: ${account}' -H 'Idempotency-Key: demo-1' -X POST ${base}/images   # run twice: charged once
  curl -i -H 'x-account-id: ${account}' '${base}/v1/search?q=hello'`);
