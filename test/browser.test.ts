// End to end in a real browser (Debian's chromium, driven by playwright-core): the React example page
// served by the Express example shows the account's plan; a signed webhook cancels the subscription;
// within 2 s, without a reload, the page shows the upgrade fallback. Saves docs/browser.png.
// Skipped (saying so) where no chromium is found, on PATH or at CHROMIUM_PATH; in CI a missing one fails (test/support/browser.ts).
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEmulator, type Emulator } from 'ecom9-gate/emulator';
import type { Gate } from 'ecom9-gate';
import { buildApp } from '../examples/express/app';
import { bundlePage } from '../examples/react/serve';
import { docsDir, haveChromium, launchChromium } from './support/browser';

const hasChromium = haveChromium('test/browser.test.ts');

describe.skipIf(!hasChromium)('examples/react in chromium', () => {
  let emu: Emulator;
  let gate: Gate;
  let server: Server;
  let url: string;
  let browser: Browser;
  beforeAll(async () => {
    emu = createEmulator();
    await emu.listen(0);
    ({ gate } = await (async () => {
      const built = buildApp({ apiKey: emu.apiKey, baseUrl: emu.url, webhookSecret: emu.webhookSecret, logger: { warn: () => {} } });
      server = built.app.listen(0, '127.0.0.1');
      await new Promise((r) => server.once('listening', r));
      return built;
    })());
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    await bundlePage(); // built before the clock of any assertion starts
    browser = await launchChromium();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    server?.closeAllConnections();
    await new Promise((r) => server?.close(r));
    await gate?.close();
    await emu?.close();
  });

  it('shows the plan, the tiers and a checkout link, and flips to the upgrade fallback within 2 s of a cancelling webhook', async () => {
    emu.setAccount('browser-co', { customerEmail: 'owner@browser.example', subscriptions: [{ subscription: 'studio-suite', tier: 'pro' }] });
    const page = await browser.newPage({ viewport: { width: 800, height: 640 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${url}/app?account=browser-co`);

    await page.locator('#status', { hasText: 'Active — pro' }).waitFor({ timeout: 10_000 });
    await page.locator('#reports').waitFor();
    expect(await page.locator('#tiers li').count()).toBeGreaterThanOrEqual(3);
    expect(await page.locator('a.checkout').first().getAttribute('href')).toMatch(/^https?:\/\//);
    const dir = docsDir();
    await page.screenshot({ path: `${dir}browser-before.png` });

    await page.evaluate(() => void ((globalThis as Record<string, unknown>).sameDocument = true));
    emu.setSubscription('browser-co', 'studio-suite', 'pro', 'canceled');
    const sent = Date.now();
    const hook = await emu.sendWebhook(`${url}/webhooks/ecom9`, { event: 'subscription.canceled', account_ref_id: 'browser-co' });
    expect(hook.status).toBe(200);
    await page.locator('#upgrade').waitFor({ timeout: 2_000 });
    const took = Date.now() - sent;
    expect(took).toBeLessThan(2_000);
    console.info(`browser: webhook sent to fallback shown in ${took} ms`);
    await page.locator('#status', { hasText: 'Inactive' }).waitFor({ timeout: 2_000 });
    expect(await page.locator('#reports').count()).toBe(0);
    expect(await page.locator('#upgrade a.checkout').getAttribute('href')).toMatch(/^https?:\/\//);
    // The same document: no reload happened.
    expect(await page.evaluate(() => (globalThis as Record<string, unknown>).sameDocument)).toBe(true);
    await page.screenshot({ path: `${dir}browser.png` });
    expect(errors).toEqual([]);
  });
});
