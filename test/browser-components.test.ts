// The pricing and billing components in Chromium, on the example's /app/billing page (the Express
// example over the emulator): the table lists the subscription's tiers in ecom9's order, marks the
// current one and sends a click to the link the server resolved; the banner shows only for a past-due
// account; the balance follows a debit and a top-up webhook; each state has no serious or critical
// axe-core violation and works from the keyboard. Saves the screenshots docs/browser.md shows.
import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser, Locator, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Gate } from 'ecom9-gate';
import { createEmulator, type Emulator } from 'ecom9-gate/emulator';
import { buildApp } from '../examples/express/app';
import { bundlePage } from '../examples/react/serve';
import { docsDir, haveChromium, launchChromium, seriousAxeViolations } from './support/browser';

const hasChromium = haveChromium('test/browser-components.test.ts');

describe.skipIf(!hasChromium)('pricing and billing components in chromium', () => {
  let emu: Emulator;
  let gate: Gate;
  let server: Server;
  let url: string;
  let browser: Browser;
  const pages: Page[] = [];
  beforeAll(async () => {
    emu = createEmulator();
    await emu.listen(0);
    const built = buildApp({ apiKey: emu.apiKey, baseUrl: emu.url, webhookSecret: emu.webhookSecret, logger: { warn: () => {} } });
    gate = built.gate;
    server = built.app.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    await bundlePage();
    browser = await launchChromium();
  }, 60_000);
  afterEach(async () => {
    emu.clearFaults();
    for (const p of pages.splice(0)) await p.close();
  });
  afterAll(async () => {
    await browser?.close();
    server?.closeAllConnections();
    await new Promise((r) => server?.close(r));
    await gate?.close();
    await emu?.close();
  });

  /** A new account (its own rate window) with these subscription states, and 50 credits. */
  function account(name: string, subs: Array<{ tier: string; state?: 'active' | 'past_due' | 'canceled' }>): string {
    const ref = `${name}-${randomUUID().slice(0, 8)}`;
    emu.setAccount(ref, { customerEmail: `${name}@example.com`, subscriptions: subs.map((s) => ({ subscription: 'studio-suite', ...s })) });
    emu.setCredits(ref, 'ai-images', 'credits', 50);
    return ref;
  }

  /** The billing page signed in as `ref`; page errors and console errors are collected. */
  async function open(ref: string, theme = 'light'): Promise<{ page: Page; errors: string[] }> {
    const page = await browser.newPage({ viewport: { width: 1000, height: 900 } });
    pages.push(page);
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => {
      if (m.type() === 'error' && !/Failed to load resource/.test(m.text())) errors.push(m.text());
    });
    await page.goto(`${url}/app/billing?account=${ref}&theme=${theme}`);
    return { page, errors };
  }

  /** What the account's own session gets from an account route (the link the server resolves). */
  async function route(ref: string, path: string): Promise<Record<string, unknown>> {
    const res = await fetch(`${url}/api/ecom9/${path}`, { headers: { cookie: `account=${ref}` } });
    expect(res.status).toBe(200);
    return (await res.json()) as Record<string, unknown>;
  }

  const table = (page: Page) => page.locator('[data-ecom9-pricing-table]');
  /** One attribute of every element the locator finds, in document order. */
  const attrs = async (l: Locator, name: string) => Promise.all((await l.all()).map((e) => e.getAttribute(name)));
  const tierLabels = (page: Page) => attrs(page.locator('[data-ecom9-tier]'), 'data-ecom9-tier');
  const focused = (l: Locator) => l.evaluate((el) => el === (globalThis as unknown as { document: { activeElement: unknown } }).document.activeElement);

  it('the table lists the tiers in ecom9’s order with prices and features, marks the current one, and a click goes to the resolved checkout', async () => {
    const ref = account('table', [{ tier: 'pro' }]);
    const { page, errors } = await open(ref);
    await page.locator('[data-ecom9-pricing-table][data-ecom9-state="ready"]').waitFor({ timeout: 10_000 });
    await page.locator('[data-ecom9-tier][aria-current="true"]').waitFor();

    // studio-suite's three tiers, in the order ecom9 lists them; not pro-api's "pro" (API Pro).
    expect(await tierLabels(page)).toEqual(['starter', 'pro', 'enterprise']);
    const pro = page.locator('[data-ecom9-tier="pro"]');
    expect(await pro.getByRole('heading').textContent()).toBe('Studio Pro');
    expect(await pro.locator('[data-ecom9-price]').textContent()).toBe('29.00 per month');
    expect(await pro.locator('[data-ecom9-features] li').allTextContents()).toEqual(['Reports', 'exports', '10 seats']);
    expect(await pro.textContent()).toContain('Most popular');
    expect(await page.locator('[data-ecom9-tier="enterprise"] [data-ecom9-features] li').allTextContents()).toEqual(['Everything', 'SSO', 'unlimited seats']);
    // The current tier: aria-current, and nothing to choose.
    expect(await attrs(page.locator('[aria-current="true"]'), 'data-ecom9-tier')).toEqual(['pro']);
    expect(await pro.getByRole('button').count()).toBe(0);
    expect(await page.getByRole('button', { name: /Studio Starter/ }).count()).toBe(1);
    expect(await seriousAxeViolations(page)).toEqual([]);
    await page.locator('[data-ecom9-pricing-table]').screenshot({ path: `${docsDir()}components-pricing.png` });

    // Keyboard only: Tab to the enterprise button, Enter; the browser lands on the link the server resolves.
    const want = (await route(ref, 'public-url?subscription_name=studio-suite&tier_name=enterprise')).public_url as string;
    const button = page.getByRole('button', { name: /Studio Enterprise/ });
    for (let i = 0; i < 20 && !(await focused(button)); i++) await page.keyboard.press('Tab');
    expect(await focused(button)).toBe(true);
    await Promise.all([page.waitForURL(want, { waitUntil: 'commit' }), page.keyboard.press('Enter')]);
    expect(page.url()).toBe(want);
    expect(errors).toEqual([]);
  });

  it('an upgrade webhook moves aria-current to the new tier, and a cancelling one clears it, without a reload', async () => {
    const ref = account('upgrade', [{ tier: 'pro' }]);
    const { page } = await open(ref);
    await page.locator('[data-ecom9-tier="pro"][aria-current="true"]').waitFor({ timeout: 10_000 });
    await page.evaluate(() => void ((globalThis as Record<string, unknown>).sameDocument = true));
    emu.setSubscription(ref, 'studio-suite', 'enterprise', 'active');
    expect((await emu.sendWebhook(`${url}/webhooks/ecom9`, { event: 'subscription.updated', account_ref_id: ref })).status).toBe(200);
    await page.locator('[data-ecom9-tier="enterprise"][aria-current="true"]').waitFor({ timeout: 2_000 });
    expect(await page.locator('[aria-current="true"]').count()).toBe(1);
    expect(
      await table(page)
        .getByRole('button', { name: /Studio Pro/ })
        .count(),
    ).toBe(1);
    expect(await page.evaluate(() => (globalThis as Record<string, unknown>).sameDocument)).toBe(true);
  });

  it('loading, busy and error states have no serious axe violation, and a failed checkout is said in text', async () => {
    const ref = account('states', [{ tier: 'starter' }]);
    // Loading: ecom9 holds the tiers for a while.
    emu.inject({ endpoint: 'tiers.list', accountRefId: undefined, kind: 'latency', ms: 1_500, times: 1 });
    const { page } = await open(ref);
    await page.locator('[data-ecom9-pricing-table][data-ecom9-state="loading"]').waitFor({ timeout: 5_000 });
    expect(await page.locator('[data-ecom9-pricing-table] [role="status"]').textContent()).toBe('Loading plans…');
    expect(await seriousAxeViolations(page)).toEqual([]);
    await page.locator('[data-ecom9-pricing-table][data-ecom9-state="ready"]').waitFor({ timeout: 5_000 });

    // Busy: the checkout link takes a while; the button says so (aria-busy) and keeps its name.
    emu.inject({ endpoint: 'links.resolvePublicUrl', kind: 'latency', ms: 1_500, times: 1 });
    const pro = table(page).getByRole('button', { name: /Studio Pro/ });
    await pro.click({ noWaitAfter: true });
    await page.locator('[data-ecom9-tier="pro"] [aria-busy="true"]').waitFor({ timeout: 1_000 });
    expect(await pro.textContent()).toBe('Opening checkout for Studio Pro…');
    expect(await seriousAxeViolations(page)).toEqual([]);
    await page.screenshot({ path: `${docsDir()}components-busy.png`, clip: (await page.locator('[data-ecom9-pricing-table]').boundingBox()) ?? undefined });
    await page.waitForURL(/\/p\//, { waitUntil: 'commit', timeout: 5_000 });

    // Error: ecom9 refuses the link (a 404: a 503 would be retried by the gate for seconds); the tier
    // says so in text (an alert), and nothing navigates.
    await page.goto(`${url}/app/billing`);
    await page.locator('[data-ecom9-pricing-table][data-ecom9-state="ready"]').waitFor({ timeout: 5_000 });
    emu.inject({ endpoint: 'links.resolvePublicUrl', kind: 'status', status: 404 });
    await page.getByRole('button', { name: /Studio Enterprise/ }).click();
    const alert = page.locator('[data-ecom9-tier="enterprise"] [role="alert"]');
    await alert.waitFor({ timeout: 5_000 });
    expect(await alert.textContent()).toContain('not_found');
    // The upgrade button, the same way.
    await page.getByRole('button', { name: 'Upgrade to Studio Pro' }).click();
    await page.locator('[data-ecom9-upgrade="pro"] [role="alert"]', { hasText: 'not_found' }).waitFor({ timeout: 5_000 });
    expect(page.url()).toBe(`${url}/app/billing`);
    expect(await seriousAxeViolations(page)).toEqual([]);

    // The table itself failing: a text alert, no list.
    emu.inject({ endpoint: 'tiers.list', kind: 'status', status: 404 });
    await page.reload();
    await page.locator('[data-ecom9-pricing-table][data-ecom9-state="error"] [role="alert"]').waitFor({ timeout: 5_000 });
    expect(await page.locator('[data-ecom9-tier]').count()).toBe(0);
    expect(await seriousAxeViolations(page)).toEqual([]);
  });

  it('the banner shows only for a past-due account, links to its fix URL, and comes and goes with webhooks', async () => {
    const fine = account('paid', [{ tier: 'pro' }]);
    const a = await open(fine);
    await a.page.locator('[data-ecom9-pricing-table][data-ecom9-state="ready"]').waitFor({ timeout: 10_000 });
    await a.page.locator('[data-ecom9-credits][data-ecom9-state="ready"]').waitFor();
    await a.page.waitForLoadState('networkidle');
    expect(await a.page.locator('[data-ecom9-fix-banner]').count()).toBe(0);

    const due = account('due', [{ tier: 'pro', state: 'past_due' }]);
    const b = await open(due, 'dark');
    const banner = b.page.getByRole('alert').filter({ hasText: 'payment failed' });
    await banner.waitFor({ timeout: 10_000 });
    const fix = (await route(due, 'fix-subscription?subscription_name=studio-suite&tier_name=pro')).url as string;
    expect(fix).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/pay\/in_/);
    expect(await banner.getByRole('link').getAttribute('href')).toBe(fix);
    await b.page.locator('[data-ecom9-pricing-table][data-ecom9-state="ready"]').waitFor();
    expect(await seriousAxeViolations(b.page)).toEqual([]);
    await b.page.screenshot({ path: `${docsDir()}components-dark.png`, fullPage: true });
    await b.page.locator('[data-ecom9-fix-banner]').screenshot({ path: `${docsDir()}components-banner.png` });

    // Paid: a webhook takes the banner away; a new failure brings it back; no reload.
    emu.setSubscription(due, 'studio-suite', 'pro', 'active');
    await emu.sendWebhook(`${url}/webhooks/ecom9`, { event: 'subscription.updated', account_ref_id: due });
    await b.page.locator('[data-ecom9-fix-banner]').waitFor({ state: 'detached', timeout: 2_000 });
    emu.setSubscription(fine, 'studio-suite', 'pro', 'past_due');
    await emu.sendWebhook(`${url}/webhooks/ecom9`, { event: 'invoice.payment_failed', account_ref_id: fine });
    await a.page.locator('[data-ecom9-fix-banner] a[href*="/pay/"]').waitFor({ timeout: 2_000 });
  });

  it('the balance drops after a debit, rises after a top-up webhook, and offers the top-up link when low', async () => {
    const ref = account('credits', [{ tier: 'pro' }]);
    emu.setCredits(ref, 'ai-images', 'credits', 14);
    const { page, errors } = await open(ref);
    const balance = page.locator('[data-ecom9-credits] [data-ecom9-balance]');
    await balance.waitFor({ timeout: 10_000 });
    expect(await balance.textContent()).toBe('14');
    expect(await page.locator('[data-ecom9-top-up]').count()).toBe(0);

    // A debit through the app's chargeCredits route (5 credits): 9 left, at or below lowAt=10.
    await page.getByRole('button', { name: 'Generate an image' }).click();
    await page.locator('[data-ecom9-credits] [data-ecom9-balance]', { hasText: /^9$/ }).waitFor({ timeout: 2_000 });
    expect(emu.credits(ref, 'ai-images', 'credits')).toBe(9);
    expect(await page.locator('[data-ecom9-credits]').getAttribute('data-ecom9-low')).toBe('');
    expect(await page.locator('[data-ecom9-top-up]').getAttribute('href')).toBe('https://example.com/top-up');
    expect(await seriousAxeViolations(page)).toEqual([]);
    await page.locator('[data-ecom9-credits]').screenshot({ path: `${docsDir()}components-credits.png` });

    // A top-up elsewhere, announced by webhook: the open page shows it.
    emu.setCredits(ref, 'ai-images', 'credits', 509);
    await emu.sendWebhook(`${url}/webhooks/ecom9`, { event: 'credits.topped_up', account_ref_id: ref });
    await page.locator('[data-ecom9-credits] [data-ecom9-balance]', { hasText: /^509$/ }).waitFor({ timeout: 2_000 });
    expect(await page.locator('[data-ecom9-top-up]').count()).toBe(0);
    expect(errors).toEqual([]);
  });
});
