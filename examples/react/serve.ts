// Serves the example pages at /app and /app/billing: the HTML, page.tsx bundled for the browser with
// esbuild (once, on first request), and the components' stylesheet. `/app?account=acme` signs the
// browser in as acme (a cookie), as a login would; `/app/billing?theme=dark` shows the dark theme.
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import express, { type Router } from 'express';

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));

/** The account of a request's `account` cookie (the example's stand-in for a session). */
export function cookieAccount(cookie: string | undefined): string | undefined {
  const m = /(?:^|;\s*)account=([^;]+)/.exec(cookie ?? '');
  return m ? decodeURIComponent(m[1] as string) : undefined;
}

let bundle: Promise<string> | undefined;

/** page.tsx and what it imports, for the browser: ecom9-gate/react, React and TanStack Query. */
export function bundlePage(): Promise<string> {
  bundle ??= import('esbuild').then(async ({ build }) => {
    const out = await build({
      entryPoints: [here('./page.tsx')],
      tsconfig: here('./tsconfig.json'),
      bundle: true,
      write: false,
      format: 'esm',
      platform: 'browser',
      target: 'es2020',
      minify: true,
      jsx: 'automatic',
      define: { 'process.env.NODE_ENV': '"production"' },
      logLevel: 'silent',
    });
    return out.outputFiles[0]?.text ?? '';
  });
  return bundle;
}

const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>ecom9-gate · React example</title>
<style>body{font:16px system-ui,sans-serif;margin:2rem auto;max-width:40rem;color:#222}
#reports{padding:1rem;background:#e8f5e9;border-radius:6px}#upgrade{padding:1rem;background:#fff3e0;border-radius:6px}
a.checkout{display:inline-block;margin:.25rem 0;padding:.4rem .8rem;background:#3949ab;color:#fff;border-radius:4px;text-decoration:none}</style>
</head><body><div id="root"></div><script type="module" src="/app/page.js"></script></body></html>`;

// The billing page takes its colours from the stylesheet's custom properties, so its theme covers the page.
const billingHtml = (theme: 'light' | 'dark') => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>ecom9-gate · Billing example</title>
<link rel="stylesheet" href="/app/styles.css">
<style>body{font:16px system-ui,sans-serif;margin:0;padding:2rem max(1rem,calc(50% - 28rem));min-height:100vh;box-sizing:border-box}
#generate{font:inherit;padding:.3rem .7rem}</style>
</head><body data-ecom9-theme="${theme}"><div id="root"></div><script type="module" src="/app/page.js"></script></body></html>`;

function signIn(req: express.Request, res: express.Response): void {
  const account = typeof req.query.account === 'string' ? req.query.account : undefined;
  if (account) res.cookie('account', account, { sameSite: 'lax', httpOnly: true, path: '/' });
}

export function reactPage(): Router {
  const router = express.Router();
  router.get('/', (req, res) => {
    signIn(req, res);
    res.type('html').set('cache-control', 'no-store').send(html);
  });
  router.get('/billing', (req, res) => {
    signIn(req, res);
    res
      .type('html')
      .set('cache-control', 'no-store')
      .send(billingHtml(req.query.theme === 'dark' ? 'dark' : 'light'));
  });
  // In an app: import 'ecom9-gate/react/styles.css' (the package ships it); here, from the source.
  router.get('/styles.css', (_req, res, next) => {
    readFile(here('../../src/react/styles.css'), 'utf8').then((css) => res.type('css').send(css), next);
  });
  router.get('/page.js', (_req, res, next) => {
    bundlePage().then((js) => res.type('js').send(js), next);
  });
  return router;
}
