// The typed ecom9 client: every endpoint of the API reference, in the namespaces of the official SDKs,
// parameters in camelCase, responses validated and kept in the API's snake_case. Every method is
// async: a parameter refused before sending is a rejection, like any other failure.
import { setTimeout as sleep } from 'node:timers/promises';
import type { z } from 'zod';
import { assertAccountRef, pathSegment } from '../shared/account-ref';
import { NotFoundError, ValidationError } from '../shared/errors';
import { parseClientOptions, type ClientOptions } from './options';
import {
  accountStatusSchema,
  balanceSchema,
  debitSchema,
  entitlementSchema,
  fixSubscriptionSchema,
  invoiceSchema,
  normalisePage,
  productListSchema,
  rawPageSchema,
  publicUrlSchema,
  tierSchema,
  transactionSchema,
  usageRecordSchema,
  usageSummarySchema,
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
import { CLIENT_HOOKS, type ClientHooks } from './hooks';
import { Transport, type CallOptions } from './transport';
import { isQuantity } from '../shared/rules';

export {
  ApiError,
  AuthenticationError,
  ConnectionError,
  Ecom9Error,
  InvalidResponseError,
  isEcom9Error,
  NotFoundError,
  RateLimitError,
  ServerError,
  TimeoutError,
  ValidationError,
  type Ecom9ErrorInit,
} from '../shared/errors';
// Types only, by name: `export type *` reached the bundled .d.ts as value exports of the zod schemas,
// which the runtime never had. The schemas stay private, so zod's types are not part of our API.
export type {
  AccountStatus,
  CreditBalance,
  DebitResult,
  EntitlementCheck,
  Invoice,
  Page,
  Product,
  RawPage,
  Subscription,
  Tier,
  Transaction,
  UsageRecordResult,
  UsageSummary,
} from './schemas';
export type { CallOptions } from './transport';
export { accountRefProblem, MAX_ACCOUNT_REF_LENGTH } from '../shared/account-ref';
export type { ClientOptions } from './options';

export interface UsageEventInput {
  accountRefId: string;
  productCode: string;
  meterCode: string;
  quantity: number;
  eventKey: string;
  metadata?: Record<string, unknown>;
}

const positiveInt = (name: string, v: number) => {
  if (!isQuantity(v)) throw new ValidationError(`${name} must be a positive integer`, { [name]: ['must be a positive integer'] });
};
const required = (name: string, v: unknown) => {
  if (typeof v !== 'string' || v === '') throw new ValidationError(`${name} is required`, { [name]: ['is required'] });
};
const iso = (d: Date | string | undefined) => (d instanceof Date ? d.toISOString() : d);

/**
 * Throws a TypeError naming the bad option (never its value). createGate hands its hook in under a
 * symbol of its own (CLIENT_HOOKS), so nothing internal is in the published signature.
 */
export function createClient(opts: ClientOptions) {
  const internals: ClientHooks = (opts as { [CLIENT_HOOKS]?: ClientHooks } | undefined)?.[CLIENT_HOOKS] ?? {};
  const o = parseClientOptions(opts);
  const t = new Transport({
    ...o,
    sleep: o.sleep ?? ((ms, signal) => sleep(ms, undefined, signal ? { signal } : undefined)),
    onOutcome: internals.onOutcome,
  });
  const txPage = rawPageSchema(transactionSchema);
  const tierPage = rawPageSchema(tierSchema);

  async function transactionsPage(
    p: { accountRefId: string; page?: number; pageSize?: number; status?: string },
    o?: CallOptions,
  ): Promise<RawPage<Transaction>> {
    return t.call(
      {
        endpoint: 'transactions.list',
        method: 'GET',
        path: `transactions/${pathSegment(p.accountRefId)}/`,
        query: { page: p.page, page_size: p.pageSize, status: p.status },
        idempotent: true,
        schema: txPage,
      },
      o,
    );
  }
  const tiersPage = (p: { page?: number; pageSize?: number } = {}, o?: CallOptions): Promise<RawPage<Tier>> =>
    t.call({ endpoint: 'tiers.list', method: 'GET', path: 'tiers/', query: { page: p.page, page_size: p.pageSize }, idempotent: true, schema: tierPage }, o);

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

  const client = {
    transactions: {
      list: async (p: { accountRefId: string; page?: number; pageSize?: number; status?: string }, o?: CallOptions): Promise<Page<Transaction>> =>
        normalisePage(await transactionsPage(p, o)),
      iterate: (p: { accountRefId: string; pageSize?: number; status?: string }, o?: CallOptions) => pages((page) => transactionsPage({ ...p, page }, o)),
    },
    accounts: {
      /** Live subscription state, normalised to a list. `tier` is only sent with `subscription`, as the endpoint requires. */
      async status(p: { accountRefId: string; subscription?: string; tier?: string }, o?: CallOptions): Promise<AccountStatus> {
        if (p.tier !== undefined && p.subscription === undefined) {
          throw new ValidationError('tier requires subscription', { subscription: ['is required whenever tier is provided'] });
        }
        return t.call(
          {
            endpoint: 'accounts.status',
            method: 'GET',
            path: `account/${pathSegment(p.accountRefId)}/status/`,
            query: { subscription: p.subscription, tier: p.tier },
            idempotent: true,
            schema: accountStatusSchema as z.ZodType<AccountStatus>,
          },
          o,
        );
      },
    },
    products: {
      list: async (o?: CallOptions): Promise<{ results: Product[]; count: number }> =>
        t.call({ endpoint: 'products.list', method: 'GET', path: 'products/', idempotent: true, schema: productListSchema }, o),
    },
    invoices: {
      /** Never retried: it has no idempotency key, so a retry could bill twice. */
      async create(
        p: {
          productManageId: string;
          amount: number;
          customerEmail: string;
          currency?: string;
          description?: string;
          sendToCustomer?: boolean;
          returnUrl?: string;
        },
        o?: CallOptions,
      ): Promise<Invoice> {
        required('product_manage_id', p.productManageId);
        required('customer_email', p.customerEmail);
        const body = {
          product_manage_id: p.productManageId,
          amount: p.amount,
          customer_email: p.customerEmail,
          currency: p.currency,
          description: p.description,
          send_to_customer: p.sendToCustomer,
          return_url: p.returnUrl,
        };
        return t.call({ endpoint: 'invoices.create', method: 'POST', path: 'invoices/create/', body, idempotent: false, schema: invoiceSchema }, o);
      },
    },
    tiers: {
      list: async (p: { page?: number; pageSize?: number } = {}, o?: CallOptions): Promise<Page<Tier>> => normalisePage(await tiersPage(p, o)),
      iterate: (p: { pageSize?: number } = {}, o?: CallOptions) => pages((page) => tiersPage({ ...p, page }, o)),
    },
    links: {
      async resolvePublicUrl(
        p: { accountRefId: string; productName: string } | { accountRefId: string; subscriptionName: string; tierName: string; email: string },
        o?: CallOptions,
      ): Promise<{ public_url: string }> {
        assertAccountRef(p.accountRefId);
        const query =
          'productName' in p
            ? { account_ref_id: p.accountRefId, product_name: p.productName }
            : { account_ref_id: p.accountRefId, subscription_name: p.subscriptionName, tier_name: p.tierName, email: p.email };
        return t.call({ endpoint: 'links.resolvePublicUrl', method: 'GET', path: 'resolve/public-url/', query, idempotent: true, schema: publicUrlSchema }, o);
      },
    },
    subscriptions: {
      /** The hosted payment URL of a past-due subscription; `{ url: null }` when there is nothing to pay. */
      async fix(p: { accountRefId: string; subscriptionName: string; tierName: string }, o?: CallOptions): Promise<{ url: string | null }> {
        assertAccountRef(p.accountRefId);
        return t.call(
          {
            endpoint: 'subscriptions.fix',
            method: 'GET',
            path: 'fix-subscription/',
            query: { account_ref_id: p.accountRefId, subscription_name: p.subscriptionName, tier_name: p.tierName },
            idempotent: true,
            schema: fixSubscriptionSchema,
            empty: { url: null },
          },
          o,
        );
      },
    },
    entitlements: {
      async check(p: { accountRefId: string; productCode: string; entitlementCode: string }, o?: CallOptions): Promise<EntitlementCheck> {
        assertAccountRef(p.accountRefId);
        return t.call(
          {
            endpoint: 'entitlements.check',
            method: 'GET',
            path: 'entitlements/check/',
            query: { account_ref_id: p.accountRefId, product_code: p.productCode, entitlement_code: p.entitlementCode },
            idempotent: true,
            schema: entitlementSchema,
          },
          o,
        );
      },
    },
    credits: {
      async balance(p: { accountRefId: string; productCode: string; meterCode: string }, o?: CallOptions): Promise<CreditBalance> {
        assertAccountRef(p.accountRefId);
        return t.call(
          {
            endpoint: 'credits.balance',
            method: 'GET',
            path: 'usage/credits/balance/',
            query: { account_ref_id: p.accountRefId, product_code: p.productCode, meter_code: p.meterCode },
            idempotent: true,
            schema: balanceSchema,
          },
          o,
        );
      },
      /** Retried only because the event_key makes a repeat harmless: ecom9 never debits one key twice. */
      async debit(p: UsageEventInput, o?: CallOptions): Promise<DebitResult> {
        assertAccountRef(p.accountRefId);
        positiveInt('quantity', p.quantity);
        required('event_key', p.eventKey);
        return t.call(
          {
            endpoint: 'credits.debit',
            method: 'POST',
            path: 'usage/credits/debit/',
            body: eventBody(p),
            idempotent: true,
            schema: debitSchema,
            resultOn4xx: true,
          },
          o,
        );
      },
    },
    usage: {
      async record(p: UsageEventInput, o?: CallOptions): Promise<UsageRecordResult> {
        assertAccountRef(p.accountRefId);
        positiveInt('quantity', p.quantity);
        required('event_key', p.eventKey);
        return t.call(
          {
            endpoint: 'usage.record',
            method: 'POST',
            path: 'usage/events/',
            body: eventBody(p),
            idempotent: true,
            schema: usageRecordSchema,
            resultOn4xx: true,
          },
          o,
        );
      },
      async summary(
        p: { accountRefId: string; productCode: string; meterCode: string; start?: Date | string; end?: Date | string },
        o?: CallOptions,
      ): Promise<UsageSummary> {
        assertAccountRef(p.accountRefId);
        return t.call(
          {
            endpoint: 'usage.summary',
            method: 'GET',
            path: 'usage/summary/',
            query: { account_ref_id: p.accountRefId, product_code: p.productCode, meter_code: p.meterCode, start: iso(p.start), end: iso(p.end) },
            idempotent: true,
            schema: usageSummarySchema,
          },
          o,
        );
      },
    },
    /** Closes the pooled connections (unless you passed your own dispatcher). */
    close: () => t.close(),
  };
  t.owner = client;
  return client;
}

function eventBody(p: UsageEventInput) {
  return {
    account_ref_id: p.accountRefId,
    product_code: p.productCode,
    meter_code: p.meterCode,
    quantity: p.quantity,
    event_key: p.eventKey,
    ...(p.metadata ? { metadata: p.metadata } : {}),
  };
}

export type Ecom9Client = ReturnType<typeof createClient>;
