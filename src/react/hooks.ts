// The hooks: the reference's four (useAccountStatus, useTransactions, useTiers, useResolvePublicUrl)
// with its argument shapes, and useEntitlement, useCredits, useUsageSummary, useFixSubscription.
// Each is TanStack Query's useQuery: { data, isLoading, error, refetch, ... }; `error.code` is the problem's code.
import { useQuery } from '@tanstack/react-query';
import { useEcom9Connection } from './provider';
import {
  accountStatusQuery,
  creditsQuery,
  entitlementQuery,
  fixSubscriptionQuery,
  publicUrlQuery,
  tiersQuery,
  transactionsQuery,
  usageSummaryQuery,
  type AccountStatusParams,
  type CreditsParams,
  type EntitlementParams,
  type FixSubscriptionParams,
  type PublicUrlParams,
  type TiersParams,
  type TransactionsParams,
  type UsageSummaryParams,
} from './query';

export const useAccountStatus = (p: AccountStatusParams = {}) => useQuery(accountStatusQuery(useEcom9Connection(), p));
export const useTransactions = (p: TransactionsParams = {}) => useQuery(transactionsQuery(useEcom9Connection(), p));
export const useTiers = (p: TiersParams = {}) => useQuery(tiersQuery(useEcom9Connection(), p));
export const useResolvePublicUrl = (p: PublicUrlParams) => useQuery(publicUrlQuery(useEcom9Connection(), p));
export const useFixSubscription = (p: FixSubscriptionParams) => useQuery(fixSubscriptionQuery(useEcom9Connection(), p));
export const useEntitlement = (p: EntitlementParams) => useQuery(entitlementQuery(useEcom9Connection(), p));
export const useCredits = (p: CreditsParams) => useQuery(creditsQuery(useEcom9Connection(), p));
export const useUsageSummary = (p: UsageSummaryParams) => useQuery(usageSummaryQuery(useEcom9Connection(), p));
