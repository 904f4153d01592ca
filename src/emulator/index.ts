// ecom9-gate/emulator: a local ecom9 for tests, examples and development. In memory, every endpoint,
// fixtures, a control surface, signed webhooks and fault injection; a console page and its JSON API.
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { OptionsError } from '../shared/errors';
import type { Delivery } from './admin';
import { Faults } from './faults';
import { demoFixtures, loadFixtures } from './fixtures';
import type { CallRecord } from './call-log';
import { createEmulatorServer } from './server';
import { EmulatorState } from './state';
import type { Emulator, EmulatorOptions } from './emulator-types';
import { buildWebhook, sendWebhook, webhookPayload, type WebhookPayloadInput } from './webhooks';

export { demoFixtures, loadFixtures } from './fixtures';
// Every type of this subpath, by name (src/emulator/types.ts).
export type * from './types';

/** How long the console waits for one webhook URL to answer. */
const CONSOLE_WEBHOOK_TIMEOUT_MS = 5_000;

function checkWebhookUrls(urls: unknown): string[] {
  if (urls === undefined) return [];
  if (!Array.isArray(urls)) throw new OptionsError('ecom9-gate: emulator: "webhookUrls" must be an array of http(s) URLs');
  return urls.map((u, i) => {
    const url = typeof u === 'string' && URL.canParse(u) ? new URL(u) : undefined;
    if (url?.protocol !== 'http:' && url?.protocol !== 'https:') throw new OptionsError(`ecom9-gate: emulator: "webhookUrls.${i}" is not an http(s) URL`);
    return url.href;
  });
}

export const DEFAULT_EMULATOR_KEY = 'emu_test_key';
export const DEFAULT_EMULATOR_WEBHOOK_SECRET = `whsec_${Buffer.from('ecom9-emulator-webhook-secret').toString('base64')}`;

/** A local ecom9 on its own HTTP server; call `listen()` before use and `close()` after. */
export function createEmulator(opts: EmulatorOptions = {}): Emulator {
  // Parsed once, so a fixtures file's apiKey and webhookSecret count as much as an object's.
  const fixtures = loadFixtures(opts.fixtures ?? demoFixtures);
  const state = new EmulatorState(fixtures, opts.now ?? Date.now);
  const apiKey = opts.apiKey ?? fixtures.apiKey ?? DEFAULT_EMULATOR_KEY;
  const webhookSecret = opts.webhookSecret ?? fixtures.webhookSecret ?? DEFAULT_EMULATOR_WEBHOOK_SECRET;
  const faults = new Faults();
  const calls: CallRecord[] = [];
  const webhookUrls = checkWebhookUrls(opts.webhookUrls);
  // One payload (one transaction_id) for every URL, sent to all at once; a URL that fails is reported, not thrown.
  const notify = async (p: WebhookPayloadInput) => {
    const webhook = webhookPayload(state, p);
    const deliveries = await Promise.all(
      webhookUrls.map(
        (url): Promise<Delivery> =>
          sendWebhook(state, webhookSecret, url, webhook as WebhookPayloadInput, { timeoutMs: CONSOLE_WEBHOOK_TIMEOUT_MS }).then(
            (r) => ({ url, status: r.status }),
            (err: Error) => ({
              url,
              // fetch says "fetch failed"; its cause says why (ECONNREFUSED ...).
              error: err.name === 'TimeoutError' ? `no answer in ${CONSOLE_WEBHOOK_TIMEOUT_MS} ms` : ((err.cause as Error | undefined)?.message ?? err.message),
            }),
          ),
      ),
    );
    return { webhook, deliveries };
  };
  const server: Server = createEmulatorServer({
    state,
    faults,
    apiKey: () => apiKey,
    calls,
    admin: { state, faults, calls, webhookUrls, notify },
  });
  let url = '';

  return {
    apiKey,
    webhookSecret,
    get url() {
      return url;
    },
    get consoleUrl() {
      return url.replace(/api\/$/, '');
    },
    webhookUrls: webhookUrls as readonly string[],
    async listen(port = 0, host = '127.0.0.1') {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => resolve());
      });
      const a = server.address() as AddressInfo;
      url = `http://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}/api/`;
      return url;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),

    setAccount: (ref, a) => void state.setAccount(ref, a),
    setSubscription: (ref, subscription, tier, s) => state.setSubscription(ref, subscription, tier, s),
    removeAccount: (ref) => state.removeAccount(ref),
    subscriptions: (ref) => (state.accounts.get(ref)?.subscriptions ?? []).map(({ subscription, tier, state: s }) => ({ subscription, tier, state: s })),
    setEntitlement: (ref, product, entitlement, hasAccess) => state.setEntitlement(ref, product, entitlement, hasAccess),
    setCredits: (ref, product, meter, balance) => state.setCredits(ref, product, meter, balance),
    credits: (ref, product, meter) => state.credits(ref, product, meter),
    usageTotal: (ref, product, meter) => state.usageTotal(ref, product, meter),
    addTransactions: (ref, n) => state.addTransactions(ref, n),
    get ledger() {
      return state.ledger;
    },
    debits: (accountRefId, product, meter) =>
      state.ledger.filter(
        (r) =>
          r.approved &&
          (accountRefId === undefined || r.accountRefId === accountRefId) &&
          (product === undefined || r.product === product) &&
          (meter === undefined || r.meter === meter),
      ),
    get usageEvents() {
      return state.usageEvents;
    },

    get calls() {
      return calls;
    },
    callCount(endpoint, accountRefId) {
      return calls.filter((c) => (!endpoint || c.endpoint === endpoint) && (!accountRefId || c.accountRefId === accountRefId)).length;
    },
    resetCalls: () => void (calls.length = 0),

    inject: (f) => faults.add(f),
    clearFaults: () => faults.clear(),

    buildWebhook: (p, o) => buildWebhook(state, webhookSecret, p, o),
    sendWebhook: (url, p, o) => sendWebhook(state, webhookSecret, url, p, o),
  };
}
