// createClient: each endpoint of endpoints.ts sent through one transport, in the namespaces of the
// official SDKs (Ecom9Client). makeClient adds createGate's hooks and stays out of the public entry.
import { NotFoundError } from '../shared/errors';
import type { EndpointName } from '../shared/endpoints';
import { endpoints } from './endpoints';
import type { ClientOptions } from './client-options';
import { parseClientOptions } from './options';
import type {
  AccountStatusParams,
  CreditBalanceParams,
  EntitlementCheckParams,
  FixSubscriptionParams,
  InvoiceCreateParams,
  ResolvePublicUrlParams,
  TiersIterateParams,
  TiersListParams,
  TransactionsIterateParams,
  TransactionsListParams,
  UsageEventInput,
  UsageSummaryParams,
} from './params';
import {
  normalisePage,
  type AccountStatus,
  type CreditBalance,
  type DebitResult,
  type EntitlementCheck,
  type Invoice,
  type Page,
  type Product,
  type RawPage,
  type Tier,
  type Transaction,
  type UsageRecordResult,
  type UsageSummary,
} from './schemas';
import { Transport, type CallOptions, type RequestSpec } from './transport';

/** createGate's hooks into its client; not part of the public API. */
export interface ClientInternals {
  /** Told how each call ended (after its retries), for gate.health(). */
  onOutcome?: (endpoint: EndpointName, error: unknown) => void;
}

/** Throws an OptionsError naming the bad option (never its value). */
export function createClient(opts: ClientOptions): Ecom9Client {
  return makeClient(opts, {});
}

/** createClient with createGate's hooks (not exported from the package). */
export function makeClient(opts: ClientOptions, internals: ClientInternals): Ecom9Client {
  const o = parseClientOptions(opts);
  const t = new Transport({ ...o, sleep: o.sleep ?? sleep, onOutcome: internals.onOutcome });
  // Every method is async: a parameter refused before sending is a rejection, like any other failure.
  const send = async <T>(spec: () => RequestSpec<T>, co?: CallOptions): Promise<T> => t.call(spec(), co);
  const transactionsPage = (p: TransactionsListParams, co?: CallOptions): Promise<RawPage<Transaction>> => send(() => endpoints.transactionsPage(p), co);
  const tiersPage = (p: TiersListParams, co?: CallOptions): Promise<RawPage<Tier>> => send(() => endpoints.tiersPage(p), co);

  const client: Ecom9Client = {
    transactions: {
      list: async (p, co) => normalisePage(await transactionsPage(p, co)),
      iterate: (p, co) => pages((page) => transactionsPage({ ...p, page }, co)),
    },
    accounts: { status: (p, co) => send(() => endpoints.accountStatus(p), co) },
    products: { list: (co) => send(() => endpoints.productsList(), co) },
    invoices: { create: (p, co) => send(() => endpoints.invoiceCreate(p), co) },
    tiers: {
      list: async (p = {}, co) => normalisePage(await tiersPage(p, co)),
      iterate: (p = {}, co) => pages((page) => tiersPage({ ...p, page }, co)),
    },
    links: { resolvePublicUrl: (p, co) => send(() => endpoints.resolvePublicUrl(p), co) },
    subscriptions: { fix: (p, co) => send(() => endpoints.fixSubscription(p), co) },
    entitlements: { check: (p, co) => send(() => endpoints.entitlementCheck(p), co) },
    credits: {
      balance: (p, co) => send(() => endpoints.creditBalance(p), co),
      debit: (p, co) => send(() => endpoints.creditDebit(p), co),
    },
    usage: {
      record: (p, co) => send(() => endpoints.usageRecord(p), co),
      summary: (p, co) => send(() => endpoints.usageSummary(p), co),
    },
    close: () => t.close(),
  };
  t.owner = client;
  return client;
}

/** The typed ecom9 client: every endpoint of the API reference, in the namespaces of the official SDKs. */
export interface Ecom9Client {
  transactions: {
    /** One page of the account's transactions. */
    list(p: TransactionsListParams, o?: CallOptions): Promise<Page<Transaction>>;
    /** Every transaction of the account, across pages. */
    iterate(p: TransactionsIterateParams, o?: CallOptions): AsyncGenerator<Transaction>;
  };
  accounts: {
    /** Live subscription state, normalised to a list. `tier` is only sent with `subscription`, as the endpoint requires. */
    status(p: AccountStatusParams, o?: CallOptions): Promise<AccountStatus>;
  };
  products: { list(o?: CallOptions): Promise<{ results: Product[]; count: number }> };
  invoices: {
    /** Never retried: it has no idempotency key, so a retry could bill twice. */
    create(p: InvoiceCreateParams, o?: CallOptions): Promise<Invoice>;
  };
  tiers: {
    list(p?: TiersListParams, o?: CallOptions): Promise<Page<Tier>>;
    iterate(p?: TiersIterateParams, o?: CallOptions): AsyncGenerator<Tier>;
  };
  links: { resolvePublicUrl(p: ResolvePublicUrlParams, o?: CallOptions): Promise<{ public_url: string }> };
  subscriptions: {
    /** The hosted payment URL of a past-due subscription; `{ url: null }` when there is nothing to pay. */
    fix(p: FixSubscriptionParams, o?: CallOptions): Promise<{ url: string | null }>;
  };
  entitlements: { check(p: EntitlementCheckParams, o?: CallOptions): Promise<EntitlementCheck> };
  credits: {
    balance(p: CreditBalanceParams, o?: CallOptions): Promise<CreditBalance>;
    /** Retried only because the event_key makes a repeat harmless: ecom9 never debits one key twice. */
    debit(p: UsageEventInput, o?: CallOptions): Promise<DebitResult>;
  };
  usage: {
    record(p: UsageEventInput, o?: CallOptions): Promise<UsageRecordResult>;
    summary(p: UsageSummaryParams, o?: CallOptions): Promise<UsageSummary>;
  };
  /** Closes the pooled connections (unless you passed your own dispatcher). */
  close(): Promise<void>;
}

/**
 * Walks every page by number. An explicit `next: null` ends the walk; a page without `next` at all
 * (the reference's /tiers/ example has none) ends it once `count` items were seen. An empty page
 * always ends it, so a server that ignores `page` cannot loop us forever.
 */
async function* pages<T>(fetchPage: (page: number) => Promise<RawPage<T>>): AsyncGenerator<T> {
  let seen = 0;
  for (let page = 1; ; page++) {
    let p: RawPage<T>;
    try {
      p = await fetchPage(page);
    } catch (err) {
      // Counting, not following links: a count that shrank between pages ends in a 404.
      if (page > 1 && err instanceof NotFoundError) return;
      throw err;
    }
    yield* p.results;
    seen += p.results.length;
    if (p.results.length === 0 || p.next === null) return;
    if (p.next === undefined && seen >= p.count) return;
  }
}

// The backoff's wait: setTimeout, cut short by the call's signal (node:timers/promises is not on the edge).
function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = () => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    };
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
