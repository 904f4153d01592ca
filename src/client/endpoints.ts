// Every ecom9 endpoint as one entry: its parameters checked, then turned into the request the transport
// sends (method, path, query or body, whether a retry is safe, the response's schema). The client's
// methods (index.ts) are these entries sent through one transport.
import type { z } from 'zod';
import { assertAccountRef, pathSegment } from '../shared/account-ref';
import { ValidationError } from '../shared/errors';
import { isQuantity } from '../shared/rules';
import type {
  AccountStatusParams,
  CreditBalanceParams,
  EntitlementCheckParams,
  FixSubscriptionParams,
  InvoiceCreateParams,
  ResolvePublicUrlParams,
  TiersListParams,
  TransactionsListParams,
  UsageEventInput,
  UsageSummaryParams,
} from './params';
import {
  accountStatusSchema,
  balanceSchema,
  debitSchema,
  entitlementSchema,
  fixSubscriptionSchema,
  invoiceSchema,
  productListSchema,
  publicUrlSchema,
  rawPageSchema,
  tierSchema,
  transactionSchema,
  usageRecordSchema,
  usageSummarySchema,
  type AccountStatus,
} from './schemas';
import type { RequestSpec } from './transport';

const positiveInt = (name: string, v: number) => {
  if (!isQuantity(v)) throw new ValidationError(`${name} must be a positive integer`, { [name]: ['must be a positive integer'] });
};
const required = (name: string, v: unknown) => {
  if (typeof v !== 'string' || v === '') throw new ValidationError(`${name} is required`, { [name]: ['is required'] });
};
const iso = (d: Date | string | undefined) => (d instanceof Date ? d.toISOString() : d);

const txPage = rawPageSchema(transactionSchema);
const tierPage = rawPageSchema(tierSchema);

function eventBody(p: UsageEventInput) {
  assertAccountRef(p.accountRefId);
  positiveInt('quantity', p.quantity);
  required('event_key', p.eventKey);
  return {
    account_ref_id: p.accountRefId,
    product_code: p.productCode,
    meter_code: p.meterCode,
    quantity: p.quantity,
    event_key: p.eventKey,
    ...(p.metadata ? { metadata: p.metadata } : {}),
  };
}

export const endpoints = {
  transactionsPage: (p: TransactionsListParams) =>
    ({
      endpoint: 'transactions.list',
      method: 'GET',
      path: `transactions/${pathSegment(p.accountRefId)}/`,
      query: { page: p.page, page_size: p.pageSize, status: p.status },
      idempotent: true,
      schema: txPage,
    }) satisfies RequestSpec<unknown>,

  accountStatus(p: AccountStatusParams) {
    if (p.tier !== undefined && p.subscription === undefined) {
      throw new ValidationError('tier requires subscription', { subscription: ['is required whenever tier is provided'] });
    }
    return {
      endpoint: 'accounts.status',
      method: 'GET',
      path: `account/${pathSegment(p.accountRefId)}/status/`,
      query: { subscription: p.subscription, tier: p.tier },
      idempotent: true,
      schema: accountStatusSchema as z.ZodType<AccountStatus>,
    } satisfies RequestSpec<AccountStatus>;
  },

  productsList: () =>
    ({ endpoint: 'products.list', method: 'GET', path: 'products/', idempotent: true, schema: productListSchema }) satisfies RequestSpec<unknown>,

  /** Never retried: it has no idempotency key, so a retry could bill twice. */
  invoiceCreate(p: InvoiceCreateParams) {
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
    return {
      endpoint: 'invoices.create',
      method: 'POST',
      path: 'invoices/create/',
      body,
      idempotent: false,
      schema: invoiceSchema,
    } satisfies RequestSpec<unknown>;
  },

  tiersPage: (p: TiersListParams) =>
    ({
      endpoint: 'tiers.list',
      method: 'GET',
      path: 'tiers/',
      query: { page: p.page, page_size: p.pageSize },
      idempotent: true,
      schema: tierPage,
    }) satisfies RequestSpec<unknown>,

  resolvePublicUrl(p: ResolvePublicUrlParams) {
    assertAccountRef(p.accountRefId);
    const query =
      'productName' in p
        ? { account_ref_id: p.accountRefId, product_name: p.productName }
        : { account_ref_id: p.accountRefId, subscription_name: p.subscriptionName, tier_name: p.tierName, email: p.email };
    return {
      endpoint: 'links.resolvePublicUrl',
      method: 'GET',
      path: 'resolve/public-url/',
      query,
      idempotent: true,
      schema: publicUrlSchema,
    } satisfies RequestSpec<unknown>;
  },

  /** `{ url: null }` when there is nothing to pay: ecom9 answers an empty body then. */
  fixSubscription(p: FixSubscriptionParams) {
    assertAccountRef(p.accountRefId);
    return {
      endpoint: 'subscriptions.fix',
      method: 'GET',
      path: 'fix-subscription/',
      query: { account_ref_id: p.accountRefId, subscription_name: p.subscriptionName, tier_name: p.tierName },
      idempotent: true,
      schema: fixSubscriptionSchema,
      empty: { url: null },
    } satisfies RequestSpec<{ url: string | null }>;
  },

  entitlementCheck(p: EntitlementCheckParams) {
    assertAccountRef(p.accountRefId);
    return {
      endpoint: 'entitlements.check',
      method: 'GET',
      path: 'entitlements/check/',
      query: { account_ref_id: p.accountRefId, product_code: p.productCode, entitlement_code: p.entitlementCode },
      idempotent: true,
      schema: entitlementSchema,
    } satisfies RequestSpec<unknown>;
  },

  creditBalance(p: CreditBalanceParams) {
    assertAccountRef(p.accountRefId);
    return {
      endpoint: 'credits.balance',
      method: 'GET',
      path: 'usage/credits/balance/',
      query: { account_ref_id: p.accountRefId, product_code: p.productCode, meter_code: p.meterCode },
      idempotent: true,
      schema: balanceSchema,
    } satisfies RequestSpec<unknown>;
  },

  /** Retried only because the event_key makes a repeat harmless: ecom9 never debits one key twice. A refusal (4xx) is a result. */
  creditDebit: (p: UsageEventInput) =>
    ({
      endpoint: 'credits.debit',
      method: 'POST',
      path: 'usage/credits/debit/',
      body: eventBody(p),
      idempotent: true,
      schema: debitSchema,
      resultOn4xx: true,
    }) satisfies RequestSpec<unknown>,

  usageRecord: (p: UsageEventInput) =>
    ({
      endpoint: 'usage.record',
      method: 'POST',
      path: 'usage/events/',
      body: eventBody(p),
      idempotent: true,
      schema: usageRecordSchema,
      resultOn4xx: true,
    }) satisfies RequestSpec<unknown>,

  usageSummary(p: UsageSummaryParams) {
    assertAccountRef(p.accountRefId);
    return {
      endpoint: 'usage.summary',
      method: 'GET',
      path: 'usage/summary/',
      query: { account_ref_id: p.accountRefId, product_code: p.productCode, meter_code: p.meterCode, start: iso(p.start), end: iso(p.end) },
      idempotent: true,
      schema: usageSummarySchema,
    } satisfies RequestSpec<unknown>;
  },
};
