// Server rendering of the pricing and billing components: renderToString in Node (no window) with a
// prefetched query cache gives their content, and Chromium hydrates that markup with the dehydrated
// cache without a warning and without changing it. Also the tiers route's `subscription` filter the
// table relies on. The server is the Express example over the emulator.
import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { QueryClient, QueryClientProvider, dehydrate } from '@tanstack/react-query';
import { createElement as h } from 'react';
import { renderToString } from 'react-dom/server';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Gate } from 'ecom9-gate';
import { createEmulator, type Emulator } from 'ecom9-gate/emulator';
import { Ecom9Provider, type Ecom9Connection } from 'ecom9-gate/react';
import { buildApp } from '../examples/express/app';
import { ComponentsApp, prefetched } from './fixtures/components-app';
import { haveChromium, launchChromium } from './support/browser';

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));

let emu: Emulator;
let gate: Gate;
let server: Server;
let url: string;
let bundle: Promise<string> | undefined;

/** The hydrating page, built for the browser with React's development build (it reports mismatches). */
function hydrateBundle(): Promise<string> {
  bundle ??= import('esbuild').then(async ({ build }) => {
    const out = await build({
      entryPoints: [here('./fixtures/components-hydrate.ts')],
      bundle: true,
      write: false,
      format: 'esm',
      platform: 'browser',
      target: 'es2020',
      alias: { 'ecom9-gate/react': here('../src/react/index.ts') },
      define: { 'process.env.NODE_ENV': '"development"' },
      logLevel: 'silent',
    });
    return out.outputFiles[0]?.text ?? '';
  });
  return bundle;
}

/** The server's side of a request for `ref`: its queries prefetched, the tree rendered to a string. */
async function serverRender(ref: string): Promise<{ html: string; state: unknown }> {
  // Relative to the app, as the browser's will be: the query keys (baseUrl '/api/ecom9') match.
  const fetchAs: Ecom9Connection['fetch'] = (u, init) => fetch(`${url}${u}`, { ...init, headers: { ...(init?.headers as object), cookie: `account=${ref}` } });
  const conn: Ecom9Connection = { baseUrl: '/api/ecom9', fetch: fetchAs };
  const client = new QueryClient();
  // The factories' options, each typed by its own data: one call type for the list.
  await Promise.all(prefetched(conn).map((q) => client.prefetchQuery(q as Parameters<QueryClient['prefetchQuery']>[0])));
  const html = renderToString(
    h(
      QueryClientProvider,
      { client },
      h(
        Ecom9Provider,
        { baseUrl: '/api/ecom9', fetch: fetchAs },
        h(ComponentsApp),
        h(() => null),
      ),
    ),
  );
  return { html, state: dehydrate(client) };
}

beforeAll(async () => {
  emu = createEmulator();
  await emu.listen(0);
  const built = buildApp({ apiKey: emu.apiKey, baseUrl: emu.url, webhookSecret: emu.webhookSecret, logger: { warn: () => {} } });
  gate = built.gate;
  built.app.get('/ssr', (req, res, next) => {
    const ref = String(req.query.account);
    res.cookie('account', ref, { sameSite: 'lax', httpOnly: true, path: '/' });
    serverRender(ref).then(({ html, state }) => {
      const json = JSON.stringify(state).replace(/</g, '\\u003c');
      res
        .type('html')
        .send(
          `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>SSR</title></head><body><div id="root">${html}</div>` +
            `<script>window.__STATE__=${json}</script><script type="module" src="/ssr.js"></script></body></html>`,
        );
    }, next);
  });
  built.app.get('/ssr.js', (_req, res, next) => void hydrateBundle().then((js) => res.type('js').send(js), next));
  server = built.app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server?.closeAllConnections();
  await new Promise((r) => server?.close(r));
  await gate?.close();
  await emu?.close();
});

function account(name: string, state: 'active' | 'past_due', balance: number): string {
  const ref = `${name}-${randomUUID().slice(0, 8)}`;
  emu.setAccount(ref, { customerEmail: `${name}@example.com`, subscriptions: [{ subscription: 'studio-suite', tier: 'pro', state }] });
  emu.setCredits(ref, 'ai-images', 'credits', balance);
  return ref;
}

describe('the tiers route’s subscription filter', () => {
  it('lists one product’s tiers in ecom9’s order, refuses paging with it, and 404s an unknown label', async () => {
    const get = (q: string) => fetch(`${url}/api/ecom9/tiers?${q}`, { headers: { cookie: 'account=acme' } });
    const all = (await (await get('')).json()) as { results: Array<{ label_name: string; name: string }> };
    expect(all.results.map((t) => t.name)).toContain('API Pro'); // ecom9's own list mixes products
    const res = await get('subscription=studio-suite');
    expect(res.status).toBe(200);
    const body = (await res.json()) as { count: number; next: unknown; results: Array<{ label_name: string }> };
    expect(body.results.map((t) => t.label_name)).toEqual(['starter', 'pro', 'enterprise']);
    expect(body).toMatchObject({ count: 3, next: null, previous: null });
    expect((await get('subscription=studio-suite&page=2')).status).toBe(400);
    const unknown = await get('subscription=no-such-product');
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as { code: string }).code).toBe('not_found');
  });
});

describe('renderToString', () => {
  it('renders every component with the prefetched data, without window', async () => {
    expect(typeof (globalThis as { window?: unknown }).window).toBe('undefined');
    const { html } = await serverRender(account('ssr', 'past_due', 7));
    expect(html).toContain('data-ecom9-fix-banner="studio-suite"');
    expect(html).toMatch(/role="alert"[^>]*data-ecom9-fix-banner[\s\S]*href="http:\/\/127\.0\.0\.1:\d+\/pay\/in_/);
    expect(html).toMatch(/<span data-ecom9-balance="">7<\/span>/);
    expect(html).toContain('href="https://example.com/top-up"');
    expect(html.match(/data-ecom9-tier="/g)).toHaveLength(3);
    expect(html).toContain('Choose Studio Enterprise');
    // Not prefetched: the loading state, as the browser's first render will show it.
    expect(html).toContain('Loading credits…');
    expect(html).toContain('Checking your plan…');
  });

  it('shows no link that is not http(s): a fix URL of javascript: renders no banner', async () => {
    const ref = account('ssr-js', 'past_due', 50);
    emu.inject({ endpoint: 'subscriptions.fix', kind: 'status', status: 200, body: { url: 'javascript:alert(document.cookie)' }, times: 1 });
    const { html } = await serverRender(ref);
    expect(html).not.toContain('javascript:');
    expect(html).not.toContain('data-ecom9-fix-banner');
  });

  it('marks the current tier for an active account, and shows no banner', async () => {
    const { html } = await serverRender(account('ssr-ok', 'active', 50));
    expect(html).toMatch(/<li data-ecom9-tier="pro"[^>]*aria-current="true"/);
    expect(html).not.toContain('data-ecom9-fix-banner');
    expect(html).not.toContain('Choose Studio Pro');
  });
});

describe.skipIf(!haveChromium('test/components-ssr.test.ts'))('hydration in chromium', () => {
  let browser: Browser;
  beforeAll(async () => {
    await hydrateBundle();
    browser = await launchChromium();
  }, 60_000);
  afterAll(async () => browser?.close());

  it.each([
    ['past due, low credits', 'past_due', 7],
    ['active', 'active', 50],
  ] as const)('%s: the browser hydrates the server’s markup without a warning and without changing it', async (_, state, balance) => {
    const ref = account('hydrate', state, balance);
    const page = await browser.newPage();
    const warnings: string[] = [];
    page.on('console', (m) => {
      // A refetch answered 4xx (the 'bonus' meter ecom9 does not know) is logged by the browser, not React.
      if ((m.type() === 'error' || m.type() === 'warning') && !/^Failed to load resource/.test(m.text())) warnings.push(m.text());
    });
    page.on('pageerror', (e) => warnings.push(e.message));
    const res = await page.goto(`${url}/ssr?account=${ref}`);
    const served = /<div id="root">([\s\S]*?)<\/div><script>/.exec((await res?.text()) ?? '')?.[1];
    await page.waitForFunction(() => (globalThis as unknown as { __ssr?: { hydratedHtml?: string } }).__ssr?.hydratedHtml !== undefined, null, {
      timeout: 10_000,
    });
    const got = await page.evaluate(() => (globalThis as unknown as { __ssr: { errors: string[]; hydratedHtml: string } }).__ssr);
    expect(got.errors).toEqual([]);
    expect(warnings).toEqual([]);
    expect(served).toBeTruthy();
    expect(got.hydratedHtml).toBe(served);
    await page.close();
  });
});
