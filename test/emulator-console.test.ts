// The emulator's console page in a real browser (Debian's chromium, driven by playwright-core): it lists
// the fixtures' accounts, shows a gate's call within 2 s without a reload, and a click on "Cancel
// studio-suite" sends the signed webhook that turns the Express example's pro route to 403; the keyboard
// reactivates it; a tier picked survives a redraw. No console errors (the page runs under its CSP).
// Saves docs/emulator-console.png.
// Skipped (saying so) where /usr/bin/chromium is missing; in CI a missing browser fails the run.
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEmulator, type Emulator } from 'ecom9-gate/emulator';
import type { Gate } from 'ecom9-gate';
import { buildApp } from '../examples/express/app';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium && process.env.CI) throw new Error(`test/emulator-console.test.ts: no browser at ${CHROMIUM} in CI (apt-get install -y chromium)`);
if (!hasChromium) console.warn(`test/emulator-console.test.ts skipped: no browser at ${CHROMIUM} (apt-get install -y chromium)`);

describe.skipIf(!hasChromium)('the emulator console in chromium', () => {
  let emu: Emulator;
  let gate: Gate;
  let server: Server;
  let app: string;
  let browser: Browser;
  beforeAll(async () => {
    // The app's port first: the emulator is told where to send webhooks when it is made.
    server = createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    app = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    emu = createEmulator({ webhookUrls: [`${app}/webhooks/ecom9`] });
    await emu.listen(0);
    const built = buildApp({ apiKey: emu.apiKey, baseUrl: emu.url, webhookSecret: emu.webhookSecret, logger: { warn: () => {} } });
    gate = built.gate;
    server.on('request', built.app);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
    });
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    server?.closeAllConnections();
    await new Promise((r) => server?.close(r));
    await gate?.close();
    await emu?.close();
  });

  const reports = async (account: string) => (await fetch(`${app}/reports`, { headers: { 'x-account-id': account } })).status;

  it('lists the accounts, shows a gate call live, and cancels and reactivates a plan the app then refuses and grants', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 960 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => void (m.type() === 'error' && errors.push(m.text())));
    await page.goto(emu.consoleUrl);

    for (const ref of ['acme', 'globex', 'initech']) await page.getByRole('article', { name: ref }).waitFor({ timeout: 10_000 });
    const acme = page.getByRole('article', { name: 'acme' });
    expect(await acme.getByRole('row', { name: /studio-suite/ }).textContent()).toContain('pro: active');
    expect(await acme.textContent()).toContain('ai-images/credits: 100');
    await page.evaluate(() => void ((globalThis as Record<string, unknown>).sameDocument = true));

    // A gate's call reaches the emulator; the page shows it without a reload.
    expect(await reports('acme')).toBe(200);
    const asked = Date.now();
    await page.locator('#calls-body tr', { hasText: 'accounts.status' }).filter({ hasText: 'acme' }).first().waitFor({ timeout: 2_000 });
    const took = Date.now() - asked;
    expect(took).toBeLessThan(2_000);
    console.info(`emulator console: a gate's call shown in ${took} ms`);
    expect(await reports('acme')).toBe(200); // from the gate's cache now: only a webhook can change it

    await acme.getByRole('button', { name: 'Cancel studio-suite' }).click();
    await page
      .locator('#activity li', { hasText: 'webhook subscription-cancelled for acme' })
      .filter({ hasText: `${app}/webhooks/ecom9 → 200` })
      .waitFor({ timeout: 5_000 });
    expect(await reports('acme')).toBe(403);
    await acme
      .getByRole('row', { name: /studio-suite/ })
      .filter({ hasText: 'pro: canceled' })
      .waitFor({ timeout: 2_000 });
    await page.screenshot({ path: `${fileURLToPath(new URL('../docs/', import.meta.url))}emulator-console.png`, fullPage: true });

    // The keyboard alone: focus the control, press Enter; focus stays on it across the re-render.
    await acme.getByRole('button', { name: 'Reactivate studio-suite' }).focus();
    await page.keyboard.press('Enter');
    await page.locator('#activity li', { hasText: 'webhook subscription-reactivated for acme' }).waitFor({ timeout: 5_000 });
    expect(await reports('acme')).toBe(200);
    await acme
      .getByRole('row', { name: /studio-suite/ })
      .filter({ hasText: 'pro: active' })
      .waitFor({ timeout: 2_000 });
    const focused = () => (globalThis as unknown as { document: { activeElement: { textContent: string } | null } }).document.activeElement?.textContent;
    expect(await page.evaluate(focused)).toBe('Reactivate studio-suite');

    // A tier picked but not yet sent survives a redraw (the state changed under the page meanwhile).
    const globex = page.getByRole('article', { name: 'globex' });
    await globex.getByLabel('Tier for studio-suite').selectOption('enterprise');
    emu.setCredits('globex', 'ai-images', 'credits', 42);
    await globex.getByText('ai-images/credits: 42').waitFor({ timeout: 5_000 });
    await globex.getByRole('button', { name: 'Change tier of studio-suite' }).click();
    await globex
      .getByRole('row', { name: /studio-suite/ })
      .filter({ hasText: 'enterprise: active' })
      .waitFor({ timeout: 5_000 });
    expect(emu.subscriptions('globex').find((s) => s.state === 'active')?.tier).toBe('enterprise');

    expect(await page.evaluate(() => (globalThis as Record<string, unknown>).sameDocument)).toBe(true);
    expect(errors).toEqual([]);
  }, 30_000);
});
