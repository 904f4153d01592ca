// The console page served at the emulator's root: one HTML document with its style and script inline,
// carrying the emulator's key (the page needs none from its user), under a nonce-based CSP.
import { randomBytes } from 'node:crypto';
import { ENDPOINTS } from '../shared/endpoints';
import { CONSOLE_SCRIPT } from './console-script';

const escapeAttr = (s: string) => s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

const STYLE = `
:root { color-scheme: light dark; font-family: system-ui, sans-serif; line-height: 1.4; }
body { margin: 0 auto; max-width: 78rem; padding: 0 1rem 2rem; }
h1 { font-size: 1.4rem; margin: 1rem 0 0.25rem; }
h2 { font-size: 1.15rem; margin: 1.5rem 0 0.5rem; }
h3 { font-size: 1.05rem; margin: 0; }
h4 { font-size: 0.95rem; margin: 0.75rem 0 0.25rem; }
.muted { opacity: 0.75; margin: 0.25rem 0; }
#accounts { display: grid; gap: 1rem; grid-template-columns: repeat(auto-fill, minmax(26rem, 1fr)); }
.account { border: 1px solid #8888; border-radius: 0.5rem; padding: 0.75rem 1rem; }
.account ul { margin: 0; padding-left: 1.2rem; }
table { border-collapse: collapse; width: 100%; font-size: 0.9rem; }
caption { text-align: left; font-weight: 600; padding: 0.5rem 0 0.25rem; }
th, td { text-align: left; vertical-align: top; padding: 0.2rem 0.4rem; border-bottom: 1px solid #8884; }
.controls { display: flex; flex-wrap: wrap; gap: 0.35rem; align-items: center; margin-top: 0.4rem; }
.field { display: inline-flex; gap: 0.3rem; align-items: center; }
input[type=number] { width: 6rem; }
button, select, input { font: inherit; }
button:focus-visible, select:focus-visible, input:focus-visible { outline: 3px solid #3b82f6; outline-offset: 1px; }
code { font-size: 0.85rem; word-break: break-all; }
#activity { font-size: 0.9rem; }
`;

/** The page and the headers it goes with; a fresh nonce per response. */
export function consolePage(apiKey: string): { html: string; headers: Record<string, string> } {
  const nonce = randomBytes(16).toString('base64');
  const html = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>ecom9 emulator console</title>
<link rel="icon" href="data:,">
<style nonce="${nonce}">${STYLE}</style>
</head>
<body data-key="${escapeAttr(apiKey)}" data-endpoints="${escapeAttr(JSON.stringify(ENDPOINTS))}">
<header>
<h1>ecom9 emulator console</h1>
<p class="muted">The local ecom9 at <code>/api/</code>. Each change below is sent as a signed webhook to: <span id="hooks">…</span></p>
</header>
<main>
<section aria-labelledby="accounts-h">
<h2 id="accounts-h">Accounts</h2>
<div id="accounts"><p class="muted">Loading…</p></div>
</section>
<section aria-labelledby="activity-h">
<h2 id="activity-h">What the console sent</h2>
<ol id="activity" aria-live="polite"></ol>
</section>
<section aria-labelledby="calls-h">
<h2 id="calls-h">Calls that reached the emulator</h2>
<p class="muted">Live, newest first: who asked what, and the answer.</p>
<table>
<thead><tr><th scope="col">Time</th><th scope="col">Account</th><th scope="col">Endpoint</th><th scope="col">Request</th><th scope="col">Status</th><th scope="col">Answer</th></tr></thead>
<tbody id="calls-body"></tbody>
</table>
</section>
<section aria-labelledby="faults-h">
<h2 id="faults-h">Faults</h2>
<form id="fault-form" class="controls" aria-labelledby="faults-h">
<span class="field"><label for="fault-endpoint">Endpoint</label><select id="fault-endpoint" name="endpoint"><option value="">any</option></select></span>
<span class="field"><label for="fault-account">Account</label><input id="fault-account" name="account" placeholder="any" size="10"></span>
<span class="field"><label for="fault-kind">Kind</label><select id="fault-kind" name="kind">
<option>status</option><option>latency</option><option>rate_limit</option><option>drop</option><option>malformed</option><option>bad_schema</option></select></span>
<span class="field"><label for="fault-status">Status</label><input id="fault-status" name="status" type="number" min="100" max="599" placeholder="503"></span>
<span class="field"><label for="fault-ms">Delay ms</label><input id="fault-ms" name="ms" type="number" min="0" placeholder="1000"></span>
<span class="field"><label for="fault-times">Times</label><input id="fault-times" name="times" type="number" min="1" placeholder="∞"></span>
<button type="submit">Inject fault</button>
<button type="button" id="clear-faults">Clear faults</button>
</form>
<div id="faults"></div>
</section>
</main>
<script nonce="${nonce}">${CONSOLE_SCRIPT}</script>
</body>
</html>
`;
  return {
    html,
    headers: {
      'content-type': 'text/html; charset=utf-8',
      'cache-control': 'no-store',
      'content-security-policy': `default-src 'none'; script-src 'nonce-${nonce}'; style-src 'nonce-${nonce}'; connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`,
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
    },
  };
}
