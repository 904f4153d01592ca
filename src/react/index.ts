// ecom9-gate/react: hooks, paywalls and pricing and billing components over the server's accountRoutes, on TanStack Query. Browser code.
export { Ecom9Provider, useEcom9Connection, type Ecom9ProviderProps, type EventSourceLike } from './provider';
export {
  useAccountStatus,
  useCredits,
  useEntitlement,
  useFixSubscription,
  useResolvePublicUrl,
  useTiers,
  useTransactions,
  useUsageSummary,
  type Result,
} from './hooks';
export { RequireEntitlement, RequireTier, hasTier, type RequireEntitlementProps, type RequireTierProps } from './components';
export { PricingTable, UpgradeButton, type PricingLabels, type PricingTableProps, type UpgradeButtonProps } from './pricing';
export { CreditsBalance, FixSubscriptionBanner, type CreditsBalanceProps, type FixSubscriptionBannerProps } from './billing';
export {
  Ecom9RequestError,
  accountStatusQuery,
  creditsQuery,
  ecom9Key,
  entitlementQuery,
  fetchRoute,
  fixSubscriptionQuery,
  publicUrlQuery,
  tiersQuery,
  transactionsQuery,
  usageSummaryQuery,
  type AccountStatus,
  type AccountRefParams,
  type AccountStatusParams,
  type CreditBalance,
  type CreditsParams,
  type Ecom9Connection,
  type Ecom9QueryOptions,
  type EntitlementCheck,
  type EntitlementParams,
  type FixSubscriptionParams,
  type Page,
  type PublicUrlParams,
  type RouteParams,
  type Subscription,
  type Tier,
  type TiersParams,
  type Transaction,
  type TransactionsParams,
  type UsageSummary,
  type UsageSummaryParams,
} from './query';
