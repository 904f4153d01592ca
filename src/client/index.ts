// The typed ecom9 client: every endpoint of the API reference, in the namespaces of the official SDKs,
// parameters in camelCase, responses validated and kept in the API's snake_case. Every method is
// async: a parameter refused before sending is a rejection, like any other failure.
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
export type { ClientOptions, HttpOptions } from './client-options';
export { createClient, type Ecom9Client } from './client';
export type {
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
