// ecom9-gate/emulator: a local ecom9 for tests, examples and development. In memory, every endpoint,
// fixtures, a control surface, signed webhooks and fault injection.
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import type { EndpointName } from '../shared/endpoints';
import { Faults, type FaultSpec } from './faults';
import { demoFixtures, loadFixtures, type Fixtures, type SubState } from './fixtures';
import { createEmulatorServer, type CallRecord } from './server';
import { EmulatorState, type LedgerRow, type UsageRow } from './state';
import { buildWebhook, sendWebhook, type WebhookPayloadInput, type WebhookSendOptions } from './webhooks';

export { demoFixtures, loadFixtures, type Fixtures, type SubState } from './fixtures';
export type { FaultSpec, FaultKind } from './faults';
export type { CallRecord } from './server';
export type { LedgerRow, UsageRow } from './state';
export type { WebhookPayloadInput, WebhookSendOptions } from './webhooks';

export interface EmulatorOptions {
  /** @default the fixtures' apiKey, else 'emu_test_key' */
  apiKey?: string;
  /** An object or a JSON file path. @default demoFixtures */
  fixtures?: Fixtures | string;
  /** @default the fixtures' webhookSecret, else a fixed `whsec_` secret */
  webhookSecret?: string;
  /** Clock in ms for created_at, recorded_at and summaries. @default Date.now */
  now?: () => number;
}

export const DEFAULT_EMULATOR_KEY = 'emu_test_key';
export const DEFAULT_EMULATOR_WEBHOOK_SECRET = `whsec_${Buffer.from('ecom9-emulator-webhook-secret').toString('base64')}`;

export function createEmulator(opts: EmulatorOptions = {}) {
  // Parsed once, so a fixtures file's apiKey and webhookSecret count as much as an object's.
  const fixtures = loadFixtures(opts.fixtures ?? demoFixtures);
  const state = new EmulatorState(fixtures, opts.now ?? Date.now);
  const apiKey = opts.apiKey ?? fixtures.apiKey ?? DEFAULT_EMULATOR_KEY;
  const webhookSecret = opts.webhookSecret ?? fixtures.webhookSecret ?? DEFAULT_EMULATOR_WEBHOOK_SECRET;
  const faults = new Faults();
  const calls: CallRecord[] = [];
  const server: Server = createEmulatorServer({ state, faults, apiKey: () => apiKey, calls });
  let url = '';

  return {
    apiKey,
    webhookSecret,
    /** The base URL ('http://127.0.0.1:PORT/api/'), once listening. */
    get url() {
      return url;
    },
    async listen(port = 0, host = '127.0.0.1'): Promise<string> {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => resolve());
      });
      const a = server.address() as AddressInfo;
      url = `http://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}/api/`;
      return url;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),

    /** Creates or updates an account; what you leave out (email, subscriptions) is kept. `subscriptions: []` removes them all. */
    setAccount: (ref: string, a: { customerEmail?: string; subscriptions?: Array<{ subscription: string; tier: string; state?: SubState }> }) =>
      void state.setAccount(ref, a),
    setSubscription: (ref: string, subscription: string, tier: string, s: SubState) => state.setSubscription(ref, subscription, tier, s),
    removeAccount: (ref: string) => state.removeAccount(ref),
    /** The account's subscriptions as the emulator holds them (a copy; no call is counted). */
    subscriptions: (ref: string): Array<{ subscription: string; tier: string; state: SubState }> =>
      (state.accounts.get(ref)?.subscriptions ?? []).map(({ subscription, tier, state: s }) => ({ subscription, tier, state: s })),
    setEntitlement: (ref: string, product: string, entitlement: string, hasAccess: boolean) => state.setEntitlement(ref, product, entitlement, hasAccess),
    setCredits: (ref: string, product: string, meter: string, balance: number) => state.setCredits(ref, product, meter, balance),
    credits: (ref: string, product: string, meter: string) => state.credits(ref, product, meter),
    usageTotal: (ref: string, product: string, meter: string) => state.usageTotal(ref, product, meter),
    addTransactions: (ref: string, n: number) => state.addTransactions(ref, n),
    /** One row per (account, event_key) answered: approved debits and refusals (`approved: false`) alike; a repeated key adds none. */
    get ledger(): readonly LedgerRow[] {
      return state.ledger;
    },
    /** Approved debits (chargeCredits, settled holds), oldest first; optionally one account's, product's and meter's. A repeated event_key adds none. */
    debits: (accountRefId?: string, product?: string, meter?: string): LedgerRow[] =>
      state.ledger.filter(
        (r) =>
          r.approved &&
          (accountRefId === undefined || r.accountRefId === accountRefId) &&
          (product === undefined || r.product === product) &&
          (meter === undefined || r.meter === meter),
      ),
    get usageEvents(): readonly UsageRow[] {
      return state.usageEvents;
    },

    get calls(): readonly CallRecord[] {
      return calls;
    },
    callCount(endpoint?: EndpointName, accountRefId?: string): number {
      return calls.filter((c) => (!endpoint || c.endpoint === endpoint) && (!accountRefId || c.accountRefId === accountRefId)).length;
    },
    resetCalls: () => void (calls.length = 0),

    inject: (f: FaultSpec) => faults.add(f),
    clearFaults: () => faults.clear(),

    buildWebhook: (p: WebhookPayloadInput, o?: WebhookSendOptions) => buildWebhook(state, webhookSecret, p, o),
    sendWebhook: (url: string, p: WebhookPayloadInput, o?: WebhookSendOptions) => sendWebhook(state, webhookSecret, url, p, o),
  };
}

export type Emulator = ReturnType<typeof createEmulator>;
