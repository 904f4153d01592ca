// What createEmulator takes and returns, written out as interfaces so that each can be named (and
// documented) by its users, rather than derived from the function.
import type { EndpointName } from '../shared/endpoints';
import type { CallRecord } from './call-log';
import type { FaultSpec } from './faults';
import type { Fixtures, SubState } from './fixture-types';
import type { LedgerRow, UsageRow } from './state';
import type { WebhookPayloadInput, WebhookSendOptions } from './webhooks';

/** createEmulator's options. */
export interface EmulatorOptions {
  /** @default the fixtures' apiKey, else 'emu_test_key' */
  apiKey?: string;
  /** An object or a JSON file path. @default demoFixtures */
  fixtures?: Fixtures | string;
  /** @default the fixtures' webhookSecret, else a fixed `whsec_` secret */
  webhookSecret?: string;
  /** Clock in ms for created_at, recorded_at and summaries. @default Date.now */
  now?: () => number;
  /**
   * Where a change made through the console or its API (`/__emulator/`) is sent as a signed webhook,
   * e.g. your app's `http://127.0.0.1:3000/webhooks/ecom9`. Changes made by calling `emu.set…` send none.
   * @default []
   */
  webhookUrls?: readonly string[];
}

/** An account's subscription as the emulator holds it. */
export interface EmulatorSubscription {
  subscription: string;
  tier: string;
  state: SubState;
}

/** What `setAccount` changes of an account; what is left out is kept. */
export interface EmulatorAccountUpdate {
  customerEmail?: string;
  /** Replaces the account's subscriptions (each active unless said); `[]` removes them all. */
  subscriptions?: Array<{ subscription: string; tier: string; state?: SubState }>;
}

/** A webhook as the emulator would send it: the JSON body and its signed headers. */
export interface BuiltWebhook {
  body: string;
  headers: Record<string, string>;
}

/** How the receiver answered a webhook the emulator sent. */
export interface WebhookReply {
  status: number;
  body: string;
}

/** What createEmulator returns: a local ecom9, its state, its control surface and its call log. */
export interface Emulator {
  /** The key it accepts. */
  readonly apiKey: string;
  /** The secret it signs webhooks with. */
  readonly webhookSecret: string;
  /** The base URL ('http://127.0.0.1:PORT/api/'), once listening. */
  readonly url: string;
  /** The console page ('http://127.0.0.1:PORT/'), once listening. */
  readonly consoleUrl: string;
  /** Where console changes are sent as webhooks. */
  readonly webhookUrls: readonly string[];
  /** Starts listening (port 0: a free one); resolves with `url`. */
  listen(port?: number, host?: string): Promise<string>;
  /** Stops listening. */
  close: () => Promise<void>;

  /** Creates or updates an account; what you leave out (email, subscriptions) is kept. `subscriptions: []` removes them all. */
  setAccount: (ref: string, a: EmulatorAccountUpdate) => void;
  /** Puts the account on `tier` of `subscription` in state `s` (the account is made if missing). */
  setSubscription: (ref: string, subscription: string, tier: string, s: SubState) => void;
  removeAccount: (ref: string) => void;
  /** The account's subscriptions as the emulator holds them (a copy; no call is counted). */
  subscriptions: (ref: string) => EmulatorSubscription[];
  setEntitlement: (ref: string, product: string, entitlement: string, hasAccess: boolean) => void;
  setCredits: (ref: string, product: string, meter: string, balance: number) => void;
  /** The prepaid balance it holds now. */
  credits: (ref: string, product: string, meter: string) => number;
  /** Postpaid usage it has recorded. */
  usageTotal: (ref: string, product: string, meter: string) => number;
  /** Adds `n` made-up transactions to the account. */
  addTransactions: (ref: string, n: number) => void;
  /** One row per (account, event_key) answered: approved debits and refusals (`approved: false`) alike; a repeated key adds none. */
  readonly ledger: readonly LedgerRow[];
  /** Approved debits (chargeCredits, settled holds), oldest first; optionally one account's, product's and meter's. A repeated event_key adds none. */
  debits: (accountRefId?: string, product?: string, meter?: string) => LedgerRow[];
  /** Usage events recorded, oldest first. */
  readonly usageEvents: readonly UsageRow[];

  /** Every request it answered, oldest first. */
  readonly calls: readonly CallRecord[];
  /** How many requests it answered, by endpoint (e.g. 'accounts.status') and account. */
  callCount(endpoint?: EndpointName, accountRefId?: string): number;
  resetCalls: () => void;

  /** Makes matching requests fail as said (latency, a status, a dropped connection, ...). */
  inject: (f: FaultSpec) => void;
  clearFaults: () => void;

  /** A signed webhook for `p`, filled in from the account's state, for handing to `gate.handleWebhook`. */
  buildWebhook: (p: WebhookPayloadInput, o?: WebhookSendOptions) => BuiltWebhook;
  /** Sends a signed webhook for `p` to `url`. */
  sendWebhook: (url: string, p: WebhookPayloadInput, o?: WebhookSendOptions) => Promise<WebhookReply>;
}
