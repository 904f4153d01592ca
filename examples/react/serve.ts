// Serves the example page at /app: the HTML, and page.tsx bundled for the browser with esbuild (once,
// on first request). `/app?account=acme` signs the browser in as acme (a cookie), as a login would.
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

export function reactPage(): Router {
  const router = express.Router();
  router.get('/', (req, res) => {
    const account = typeof req.query.account === 'string' ? req.query.account : undefined;
    if (account) res.cookie('account', account, { sameSite: 'lax', httpOnly: true, path: '/' });
    res.type('html').set('cache-control', 'no-store').send(html);
  });
  router.get('/page.js', (_req, res, next) => {
    bundlePage().then((js) => res.type('js').send(js), next);
  });
  return router;
}
