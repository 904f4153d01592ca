// The hooks: the reference's four (useAccountStatus, useTransactions, useTiers, useResolvePublicUrl)
// with its argument shapes, and useEntitlement, useCredits, useUsageSummary, useFixSubscription.
// Each is TanStack Query's useQuery: { data, isLoading, error, refetch, ... }; `error.code` is the problem's code.
import { useQuery, type UseQueryResult } from '@tanstack/react-query';
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
  type AccountStatus,
  type AccountStatusParams,
  type CreditBalance,
  type CreditsParams,
  type EntitlementCheck,
  type EntitlementParams,
  type Ecom9RequestError,
  type FixSubscriptionParams,
  type Page,
  type PublicUrlParams,
  type Tier,
  type TiersParams,
  type Transaction,
  type TransactionsParams,
  type UsageSummary,
  type UsageSummaryParams,
} from './query';

/** What every hook returns: TanStack Query's result (data, isLoading, error with its code, refetch, ...). */
export type Result<T> = UseQueryResult<T, Ecom9RequestError>;

export const useAccountStatus = (p: AccountStatusParams = {}): Result<AccountStatus> => useQuery(accountStatusQuery(useEcom9Connection(), p));
export const useTransactions = (p: TransactionsParams = {}): Result<Page<Transaction>> => useQuery(transactionsQuery(useEcom9Connection(), p));
export const useTiers = (p: TiersParams = {}): Result<Page<Tier>> => useQuery(tiersQuery(useEcom9Connection(), p));
export const useResolvePublicUrl = (p: PublicUrlParams): Result<{ public_url: string }> => useQuery(publicUrlQuery(useEcom9Connection(), p));
export const useFixSubscription = (p: FixSubscriptionParams): Result<{ url: string | null }> => useQuery(fixSubscriptionQuery(useEcom9Connection(), p));
export const useEntitlement = (p: EntitlementParams): Result<EntitlementCheck> => useQuery(entitlementQuery(useEcom9Connection(), p));
export const useCredits = (p: CreditsParams): Result<CreditBalance> => useQuery(creditsQuery(useEcom9Connection(), p));
export const useUsageSummary = (p: UsageSummaryParams): Result<UsageSummary> => useQuery(usageSummaryQuery(useEcom9Connection(), p));
