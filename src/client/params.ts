// The parameters of every client method, by name: the API's own names in camelCase.

/** `transactions.list`: one page of an account's transactions. */
export interface TransactionsListParams {
  accountRefId: string;
  page?: number;
  pageSize?: number;
  status?: string;
}

/** `transactions.iterate`: every transaction of an account, page after page. */
export type TransactionsIterateParams = Omit<TransactionsListParams, 'page'>;

/** `accounts.status`: `tier` only together with `subscription`, as the endpoint requires. */
export interface AccountStatusParams {
  accountRefId: string;
  subscription?: string;
  tier?: string;
}

/** `invoices.create`. */
export interface InvoiceCreateParams {
  productManageId: string;
  amount: number;
  customerEmail: string;
  currency?: string;
  description?: string;
  sendToCustomer?: boolean;
  returnUrl?: string;
}

/** `tiers.list`: one page of tiers. */
export interface TiersListParams {
  page?: number;
  pageSize?: number;
}

/** `tiers.iterate`: every tier, page after page. */
export type TiersIterateParams = Omit<TiersListParams, 'page'>;

/** `links.resolvePublicUrl`: by product name, or by subscription and tier (with the customer's email). */
export type ResolvePublicUrlParams =
  | { accountRefId: string; productName: string }
  | { accountRefId: string; subscriptionName: string; tierName: string; email: string };

/** `subscriptions.fix`: the hosted payment URL of a past-due subscription. */
export interface FixSubscriptionParams {
  accountRefId: string;
  subscriptionName: string;
  tierName: string;
}

/** `entitlements.check`. */
export interface EntitlementCheckParams {
  accountRefId: string;
  productCode: string;
  entitlementCode: string;
}

/** `credits.balance`. */
export interface CreditBalanceParams {
  accountRefId: string;
  productCode: string;
  meterCode: string;
}

/** `credits.debit` and `usage.record`: one event, made idempotent by its `eventKey`. */
export interface UsageEventInput {
  accountRefId: string;
  productCode: string;
  meterCode: string;
  quantity: number;
  eventKey: string;
  metadata?: Record<string, unknown>;
}

/** `usage.summary`: a window of an account's usage. */
export interface UsageSummaryParams {
  accountRefId: string;
  productCode: string;
  meterCode: string;
  start?: Date | string;
  end?: Date | string;
}
