// `npm start -- --once`: the narrated tour, run as a child process. Against its own emulator it checks
// status and body of every step; against "real ecom9" (here an emulator of the test's) it only reads
// unless --write, never claims success, and fails on a 5xx.
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createEmulator, demoFixtures, type Emulator } from 'ecom9-gate/emulator';

const root = join(__dirname, '..');
// Whatever the developer's shell exports must not leak into the tour.
const clean = {
  PORT: '0',
  ECOM9_API_KEY: '',
  ECOM9_BASE_URL: '',
  ECOM9_WEBHOOK_SECRET: '',
  ECOM9_TOUR_ACCOUNT: '',
  ECOM9_TOUR_DENIED_ACCOUNT: '',
  ECOM9_TOUR_FIXTURES: '',
};

/** Runs the tour without blocking this process, so an emulator started here can answer it. */
function tour(env: Record<string, string>, args: string[] = []) {
  return new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', 'scripts/start.ts', '--once', ...args],
      { cwd: root, env: { ...process.env, ...clean, ...env }, timeout: 60_000 },
      (e, out, err) => resolve({ code: e ? (typeof e.code === 'number' ? e.code : null) : 0, out, err }),
    );
  });
}

describe('against its own emulator', () => {
  it('the npm start tour gets every answer it expects', async () => {
    const r = await tour({});
    expect(r.out).toContain('Every step got the answer it should.');
    expect(r.out).toMatch(/Pricing and billing components: http:\/\/127\.0\.0\.1:\d+\/app\/billing\?account=acme/);
    expect(r.out).toMatch(
      /React page \(the browser routes\): http:\/\/127\.0\.0\.1:\d+\/app\?account=acme[^\n]*\nPricing and billing components: [^\n]*\nEmulator console: http:\/\/127\.0\.0\.1:\d+\/ /,
    );
    expect(r.out).toContain('{"debited":5,"remainingBalance":95,');
    expect(r.out).toMatch(/0 → 3 {2}\(\+3 in 1 usage\.record call\(s\)\)/);
    expect(r.out).toMatch(/9\. The very next request from acme is denied[\s\S]*← 403 .*"code":"tier_required"/);
    expect(r.out).not.toContain('✗');
    expect(r.code).toBe(0);
  }, 60_000);

  it('a step with the right status but the wrong body fails the tour and prints the whole body', async () => {
    // acme starts with 50 credits instead of 100: step 4 still answers 200, with remainingBalance 45.
    const fixtures = structuredClone(demoFixtures);
    const acme = fixtures.accounts?.find((a) => a.account_ref_id === 'acme');
    if (!acme?.credits?.[0]) throw new Error('the demo fixtures changed: acme has no credits row');
    acme.credits[0].balance = 50;
    const file = join(mkdtempSync(join(tmpdir(), 'ecom9-tour-')), 'fixtures.json');
    writeFileSync(file, JSON.stringify(fixtures));
    const r = await tour({ ECOM9_TOUR_FIXTURES: file });
    expect(r.out).toContain('← 200 {"image":"https://example.com/generated.png","credits":{"debited":5,"remainingBalance":45,');
    expect(r.out).toContain('✗ 4.: expected 200 with credits.debited=5, credits.remainingBalance=95');
    expect(r.out).toContain('1 step(s) did not get the answer they should.');
    expect(r.out).not.toContain('Every step got the answer it should.');
    expect(r.code).toBe(1);
  }, 60_000);

  it('a step with the wrong status fails the tour', async () => {
    // The two accounts swapped: globex is refused the report acme should read.
    const r = await tour({ ECOM9_TOUR_ACCOUNT: 'globex', ECOM9_TOUR_DENIED_ACCOUNT: 'acme' });
    expect(r.out).toMatch(/← 403 \{[^\n]*"code":"tier_required"[^\n]*\n {3}✗ 1\.: expected 200 with report="quarterly numbers", account="globex"/);
    expect(r.out).not.toContain('Every step got the answer it should.');
    expect(r.code).toBe(1);
  }, 60_000);
});

describe('against real ecom9 (ECOM9_API_KEY set)', () => {
  let emu: Emulator | undefined;
  afterEach(async () => {
    await emu?.close();
    emu = undefined;
  });
  async function realEcom9(apiKey?: string) {
    emu = createEmulator();
    const url = await emu.listen(0);
    return { ECOM9_API_KEY: apiKey ?? emu.apiKey, ECOM9_BASE_URL: url, ECOM9_WEBHOOK_SECRET: emu.webhookSecret };
  }
  const accounts = { ECOM9_TOUR_ACCOUNT: 'acme', ECOM9_TOUR_DENIED_ACCOUNT: 'globex' };

  it('refuses to start without naming the tour accounts', async () => {
    const r = await tour({ ECOM9_API_KEY: 'sk_tour_secret_key' });
    expect(r.err).toContain('ECOM9_TOUR_ACCOUNT');
    expect(r.err).toContain('ECOM9_TOUR_DENIED_ACCOUNT');
    expect(r.out + r.err).not.toContain('sk_tour_secret_key');
    expect(r.code).toBe(1);
  }, 60_000);

  it('without --write it only reads, and says the answers were not checked', async () => {
    const r = await tour({ ...(await realEcom9()), ...accounts });
    expect(r.out).toContain('Answers not checked against real ecom9');
    expect(r.out).not.toContain('Every step got the answer it should.');
    expect(r.out).toContain('4-7. Skipped');
    expect(emu?.callCount('credits.debit')).toBe(0);
    expect(emu?.callCount('usage.record')).toBe(0);
    expect(emu?.credits('acme', 'ai-images', 'credits')).toBe(100);
    expect(emu?.callCount('entitlements.check')).toBeGreaterThan(0); // it did talk to "real ecom9"
    expect(r.code).toBe(0);
  }, 60_000);

  it('with --write it debits and meters the named account', async () => {
    const r = await tour({ ...(await realEcom9()), ...accounts }, ['--write']);
    expect(r.out).toContain('Answers not checked against real ecom9');
    expect(emu?.credits('acme', 'ai-images', 'credits')).toBe(95);
    expect(emu?.usageTotal('acme', 'api-access', 'api_calls')).toBe(3);
    expect(r.code).toBe(0);
  }, 60_000);

  it('exits 1 when ecom9 makes the gate answer 5xx (a wrong API key), without echoing the key', async () => {
    const r = await tour({ ...(await realEcom9('sk_wrong_tour_key')), ...accounts });
    expect(r.out).toMatch(/← 5\d\d /);
    expect(r.out).toMatch(/\d step\(s\) got a 5xx or no answer\./);
    expect(r.out).not.toContain('Answers not checked');
    expect(r.out + r.err).not.toContain('sk_wrong_tour_key');
    expect(r.code).toBe(1);
  }, 60_000);
});
