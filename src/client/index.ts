// The typed ecom9 client: every endpoint of the API reference, in the namespaces of the official SDKs,
// parameters in camelCase, responses validated and kept in the API's snake_case.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Dispatcher } from 'undici';
import type { z } from 'zod';
import { assertAccountRef, pathSegment } from './account-ref';
import { ValidationError } from './errors';
import {
  accountStatusSchema,
  balanceSchema,
  debitSchema,
  entitlementSchema,
  fixSubscriptionSchema,
  invoiceSchema,
  pageSchema,
  productListSchema,
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
  type Tier,
  type Transaction,
  type UsageRecordResult,
  type UsageSummary,
} from './schemas';
import { Transport, type CallOptions } from './transport';

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
} from './errors';
export type * from './schemas';
export type { CallOptions } from './transport';
export { accountRefProblem, MAX_ACCOUNT_REF_LENGTH } from './account-ref';

export interface ClientOptions {
  apiKey: string;
  /** @default 'https://app.ecom9.com/api/' */
  baseUrl?: string;
  /** @default 'bearer' */
  authScheme?: 'bearer' | 'x-api-key';
  /** Per attempt. @default 5000 */
  timeoutMs?: number;
  /** @default 2 */
  maxRetries?: number;
  /** @default 500 */
  retryBaseMs?: number;
  /** @default 8000 */
  retryMaxMs?: number;
  /** @default 64 */
  connections?: number;
  /** Your own undici dispatcher (not closed by `close()`). */
  dispatcher?: Dispatcher;
  /** Waits between retries; injectable for tests. */
  sleep?: (ms: number) => Promise<void>;
}

type Meta = Record<string, unknown>;

export interface UsageEventInput {
  accountRefId: string;
  productCode: string;
  meterCode: string;
  quantity: number;
  eventKey: string;
  metadata?: Meta;
}

const positiveInt = (name: string, v: number) => {
  if (!Number.isSafeInteger(v) || v <= 0) throw new ValidationError(`${name} must be a positive integer`, { [name]: ['must be a positive integer'] });
};
const required = (name: string, v: unknown) => {
  if (typeof v !== 'string' || v === '') throw new ValidationError(`${name} is required`, { [name]: ['is required'] });
};
const iso = (d: Date | string | undefined) => (d instanceof Date ? d.toISOString() : d);

export function createClient(opts: ClientOptions) {
  if (!opts || typeof opts.apiKey !== 'string' || opts.apiKey === '') throw new TypeError('ecom9-gate: createClient needs "apiKey"');
  const t = new Transport({
    apiKey: opts.apiKey,
    baseUrl: opts.baseUrl ?? 'https://app.ecom9.com/api/',
    authScheme: opts.authScheme ?? 'bearer',
    timeoutMs: opts.timeoutMs ?? 5_000,
    maxRetries: opts.maxRetries ?? 2,
    retryBaseMs: opts.retryBaseMs ?? 500,
    retryMaxMs: opts.retryMaxMs ?? 8_000,
    connections: opts.connections ?? 64,
    dispatcher: opts.dispatcher,
    sleep: opts.sleep ?? ((ms) => sleep(ms)),
  });
  const txPage = pageSchema(transactionSchema);
  const tierPage = pageSchema(tierSchema);

  const transactionsList = (p: { accountRefId: string; page?: number; pageSize?: number; status?: string }, o?: CallOptions): Promise<Page<Transaction>> =>
    t.call(
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
  const tiersList = (p: { page?: number; pageSize?: number } = {}, o?: CallOptions): Promise<Page<Tier>> =>
    t.call({ endpoint: 'tiers.list', method: 'GET', path: 'tiers/', query: { page: p.page, page_size: p.pageSize }, idempotent: true, schema: tierPage }, o);

  /** Walks every page by number until `next` is null. */
  async function* pages<T>(fetchPage: (page: number) => Promise<Page<T>>): AsyncGenerator<T> {
    for (let page = 1; ; page++) {
      const p = await fetchPage(page);
      yield* p.results;
      if (!p.next || p.results.length === 0) return;
    }
  }

  return {
    transactions: {
      list: transactionsList,
      iterate: (p: { accountRefId: string; pageSize?: number; status?: string }, o?: CallOptions) => pages((page) => transactionsList({ ...p, page }, o)),
    },
    accounts: {
      /** Live subscription state, normalised to a list. `tier` is only sent with `subscription`, as the endpoint requires. */
      status(p: { accountRefId: string; subscription?: string; tier?: string }, o?: CallOptions): Promise<AccountStatus> {
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
      list: (o?: CallOptions): Promise<{ results: Product[]; count: number }> =>
        t.call({ endpoint: 'products.list', method: 'GET', path: 'products/', idempotent: true, schema: productListSchema }, o),
    },
    invoices: {
      /** Never retried: it has no idempotency key, so a retry could bill twice. */
      create(
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
      list: tiersList,
      iterate: (p: { pageSize?: number } = {}, o?: CallOptions) => pages((page) => tiersList({ ...p, page }, o)),
    },
    links: {
      resolvePublicUrl(
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
      fix(p: { accountRefId: string; subscriptionName: string; tierName: string }, o?: CallOptions): Promise<{ url: string | null }> {
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
      check(p: { accountRefId: string; productCode: string; entitlementCode: string }, o?: CallOptions): Promise<EntitlementCheck> {
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
      balance(p: { accountRefId: string; productCode: string; meterCode: string }, o?: CallOptions): Promise<CreditBalance> {
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
      debit(p: UsageEventInput, o?: CallOptions): Promise<DebitResult> {
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
      record(p: UsageEventInput, o?: CallOptions): Promise<UsageRecordResult> {
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
      summary(
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
