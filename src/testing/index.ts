// ecom9-gate/testing: an emulator on a free port and a gate wired to it, for the tests of an app that
// gates its routes. Every state change is made in the emulator and then told to the gate as ecom9
// tells it (a signed webhook, handed straight to the gate), so the very next request sees it.
import { createGate, type Gate, type GateOptions, type OpenHold } from '../index';
import { createEmulator } from '../emulator/index';
import type { Emulator, EndpointName, Fixtures, LedgerRow, SubState } from '../emulator/types';
import { ArgumentError, OptionsError } from '../shared/errors';
import { checkKnownKeys } from '../shared/strict-keys';

export interface TestGateOptions {
  /** The emulator's world: an object or a JSON file path. @default the emulator's demo fixtures */
  fixtures?: Fixtures | string;
  /**
   * Gate options laid over the test settings (fast retries, no stale serving, usage sent at once).
   * apiKey, baseUrl and webhookSecret always come from the emulator.
   */
  gate?: Omit<GateOptions, 'apiKey' | 'baseUrl' | 'webhookSecret'>;
  /** Clock in ms for the emulator and the gate. @default Date.now */
  now?: () => number;
}

export interface TestGate {
  /** The gate to hand to your app (expressGate(t.gate, ...), koaGate, fastifyGate, ...). */
  readonly gate: Gate;
  /** The emulator standing in for ecom9: faults (`inject`), call counts (`callCount`), ledger. */
  readonly emulator: Emulator;
  /** Errors the gate reported in the background (usage given up on, a failed handler): none is silent. */
  readonly errors: readonly unknown[];
  /** Puts the account on `tier` of `subscription` (active unless said) and tells the gate. */
  setTier(accountRefId: string, subscription: string, tier: string, state?: SubState): Promise<void>;
  /** Cancels the account's active subscription of that name and tells the gate. */
  cancel(accountRefId: string, subscription: string): Promise<void>;
  setEntitlement(accountRefId: string, product: string, entitlement: string, hasAccess: boolean): Promise<void>;
  /** Sets the prepaid balance (credits are never cached: the next debit sees it either way). */
  setCredits(accountRefId: string, product: string, meter: string, balance: number): Promise<void>;
  /** The prepaid balance ecom9 holds now. */
  credits(accountRefId: string, product: string, meter: string): number;
  /** Credits debited from the account (approved debits only; a replayed Idempotency-Key adds none). */
  debited(accountRefId: string, product: string, meter: string): number;
  /**
   * Each approved debit of the account (chargeCredits, settled holds), oldest first (`quantity`,
   * `eventKey`, ...), once the holds' debits in flight are answered (a route's hold is settled just
   * after its response).
   */
  debits(accountRefId: string, product?: string, meter?: string): Promise<LedgerRow[]>;
  /** The holds still open in the gate (all, or the account's). */
  openHolds(accountRefId?: string): OpenHold[];
  /** Postpaid usage ecom9 has recorded, once every queued event is delivered. */
  recorded(accountRefId: string, product: string, meter: string): Promise<number>;
  /** How many requests reached ecom9, by endpoint (e.g. 'accounts.status') and account. */
  calls(endpoint?: EndpointName, accountRefId?: string): number;
  /** Closes the gate (flushing usage) and the emulator: no open handle remains. */
  close(): Promise<void>;
}

const TEST_GATE_KEYS = ['fixtures', 'gate', 'now'] satisfies (keyof TestGateOptions)[];

/** What ecom9 would send for each change of state. */
const EVENT_OF: Record<SubState, string> = {
  active: 'subscription-updated',
  past_due: 'payment-failed',
  incomplete: 'subscription-incomplete',
  canceled: 'subscription-cancelled',
};

/** Retries that wait about a millisecond, nothing stale, usage sent one event at a time. */
const TEST_SETTINGS = {
  http: { timeoutMs: 2_000, maxRetries: 2, retryBaseMs: 1, retryMaxMs: 2 },
  cache: { staleIfErrorMs: 0 },
  usage: { aggregateMs: 0, retryBaseMs: 1, retryMaxMs: 2, maxAttempts: 3 },
} satisfies GateOptions;

function overlay(over: TestGateOptions['gate'] = {}): GateOptions {
  return {
    ...TEST_SETTINGS,
    ...over,
    http: { ...TEST_SETTINGS.http, ...over.http },
    cache: { ...TEST_SETTINGS.cache, ...over.cache },
    usage: { ...TEST_SETTINGS.usage, ...over.usage },
  };
}

/** An emulator on a free loopback port and a gate wired to it. Close it after the tests. */
export async function createTestGate(options: TestGateOptions = {}): Promise<TestGate> {
  if (typeof options !== 'object' || options === null) throw new OptionsError('ecom9-gate: createTestGate(options) expects an options object');
  checkKnownKeys('createTestGate', options, TEST_GATE_KEYS);
  const emulator = createEmulator({ fixtures: options.fixtures, now: options.now });
  await emulator.listen(0);
  const errors: unknown[] = [];
  const given = options.gate ?? {};
  // A gate that cannot be made (a bad option) must not leave the emulator listening.
  let gate: Gate;
  try {
    gate = createGate({
      ...overlay(given),
      ...(options.now ? { now: options.now } : {}),
      apiKey: emulator.apiKey,
      baseUrl: emulator.url,
      webhookSecret: emulator.webhookSecret,
      onError: (err) => {
        errors.push(err);
        given.onError?.(err);
      },
    });
  } catch (err) {
    await emulator.close();
    throw err;
  }

  // The change is made first, then announced: a webhook only ever invalidates, and the gate's next
  // question to ecom9 gets the new state.
  async function announce(event: string, accountRefId: string): Promise<void> {
    const { body, headers } = emulator.buildWebhook({ event, account_ref_id: accountRefId });
    const r = await gate.handleWebhook({ rawBody: body, headers });
    // Only a gate whose webhook options were overridden (a custom verify) can refuse it.
    if (r.status !== 200) throw new ArgumentError(`ecom9-gate: createTestGate: the gate refused the ${event} webhook (${r.status})`);
  }

  let closed: Promise<void> | undefined;
  return {
    gate,
    emulator,
    errors,
    async setTier(ref, subscription, tier, state = 'active') {
      emulator.setSubscription(ref, subscription, tier, state);
      await announce(EVENT_OF[state], ref);
    },
    async cancel(ref, subscription) {
      const active = emulator.subscriptions(ref).find((s) => s.subscription === subscription && s.state === 'active');
      if (!active) throw new ArgumentError(`ecom9-gate: createTestGate: cancel: "${ref}" has no active "${subscription}" subscription`);
      emulator.setSubscription(ref, subscription, active.tier, 'canceled');
      await announce('subscription-cancelled', ref);
    },
    async setEntitlement(ref, product, entitlement, hasAccess) {
      emulator.setEntitlement(ref, product, entitlement, hasAccess);
      await announce('subscription-updated', ref);
    },
    async setCredits(ref, product, meter, balance) {
      emulator.setCredits(ref, product, meter, balance);
      await announce('payment-succeeded', ref);
    },
    credits: (ref, product, meter) => emulator.credits(ref, product, meter),
    debited: (ref, product, meter) =>
      emulator.ledger.reduce((n, r) => (r.approved && r.accountRefId === ref && r.product === product && r.meter === meter ? n + r.quantity : n), 0),
    async debits(ref, product, meter) {
      await gate.flush();
      return emulator.debits(ref, product, meter);
    },
    openHolds: (ref) => gate.openHolds(ref),
    async recorded(ref, product, meter) {
      await gate.flush();
      return emulator.usageTotal(ref, product, meter);
    },
    calls: (endpoint, ref) => emulator.callCount(endpoint, ref),
    close() {
      closed ??= gate.close().finally(() => emulator.close());
      return closed;
    },
  };
}

// Every core type (src/types.ts), so a type this subpath's signatures name (and what those name in
// turn) is imported from here as from ecom9-gate.
export type * from '../types';
// And every emulator type, for the Emulator a TestGate holds.
export type * from '../emulator/types';
