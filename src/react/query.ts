// The wire of the browser routes from the page's side: one fetcher, and a queryOptions factory per
// route so an app can prefetch or use them with its own TanStack Query hooks. Browser code: no node:.
import { queryOptions, type DataTag, type UseQueryOptions } from '@tanstack/react-query';
import type { AccountStatus, CreditBalance, EntitlementCheck, Page, Subscription, Tier, Transaction, UsageSummary } from '../client/schemas';

/** Where the routes are and how to call them (the provider's props). */
export interface Ecom9Connection {
  /** The prefix the server mounted accountRoutes on, e.g. '/api/ecom9' (or an absolute URL). */
  baseUrl: string;
  /** Defaults to the global fetch; cookies go along (credentials: 'same-origin'). */
  fetch?: (input: string, init?: RequestInit) => Promise<Response>;
}

/** A problem answer of the routes (or a network failure: status 0, code 'network_error'). */
export class Ecom9RequestError extends Error {
  override name = 'Ecom9RequestError';
  constructor(
    message: string,
    readonly status: number,
    /** The problem's code: account_unresolved, account_mismatch, invalid_query, rate_limited, upstream_unavailable, ... */
    readonly code: string,
    readonly problem: Record<string, unknown> | undefined,
  ) {
    super(message);
  }
}

/** A route's query parameters; undefined, null and '' are left out. */
export type RouteParams = Record<string, string | number | undefined | null>;

export function routeUrl(baseUrl: string, route: string, params: RouteParams = {}): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  const s = q.toString();
  return `${baseUrl.replace(/\/+$/, '')}/${route}${s ? `?${s}` : ''}`;
}

/** GETs one route and parses its JSON; a problem answer throws an Ecom9RequestError carrying the code. */
export async function fetchRoute<T>(conn: Ecom9Connection, route: string, params?: RouteParams, signal?: AbortSignal): Promise<T> {
  const f = conn.fetch ?? globalThis.fetch;
  let res: Response;
  try {
    res = await f(routeUrl(conn.baseUrl, route, params), { method: 'GET', credentials: 'same-origin', headers: { accept: 'application/json' }, signal });
  } catch (err) {
    if ((err as { name?: string })?.name === 'AbortError') throw err;
    throw new Ecom9RequestError('The billing routes could not be reached.', 0, 'network_error', undefined);
  }
  const text = await res.text();
  let body: unknown;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = undefined;
  }
  if (!res.ok) {
    const p = typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : undefined;
    const code = typeof p?.code === 'string' ? p.code : `http_${res.status}`;
    throw new Ecom9RequestError(typeof p?.detail === 'string' ? p.detail : `HTTP ${res.status}`, res.status, code, p);
  }
  return body as T;
}

/** Every query of these routes starts with this key, so one invalidation refetches them all. */
export const ecom9Key = (baseUrl: string) => ['ecom9', baseUrl] as const;

// A problem is the server's answer after its own retries: asking again at once changes nothing.
// Only a network failure is tried again, twice.
const retry = (n: number, err: unknown) => err instanceof Ecom9RequestError && err.status === 0 && n < 2;

/** What each factory returns: options for useQuery, prefetchQuery or ensureQueryData, with a typed key. */
export type Ecom9QueryOptions<T> = UseQueryOptions<T, Ecom9RequestError, T, readonly unknown[]> & {
  queryKey: DataTag<readonly unknown[], T, Ecom9RequestError>;
};

function options<T>(conn: Ecom9Connection, route: string, params: RouteParams): Ecom9QueryOptions<T> {
  return queryOptions<T, Ecom9RequestError, T, readonly unknown[]>({
    queryKey: [...ecom9Key(conn.baseUrl), route, params],
    queryFn: ({ signal }) => fetchRoute<T>(conn, route, params, signal),
    retry,
  }) as Ecom9QueryOptions<T>;
}

/** What every query and hook may take: `accountRefId`, sent as account_ref_id, which the server checks (never trusts). */
export interface AccountRefParams {
  accountRefId?: string;
}

/** The account's status; `tier` narrows it to that tier. */
export interface AccountStatusParams extends AccountRefParams {
  subscription?: string;
  tier?: string;
}
/** One page of the account's transactions. */
export interface TransactionsParams extends AccountRefParams {
  page?: number;
  pageSize?: number;
  status?: string;
}
/** One page of tiers; `subscription` (a product's label): every tier of that product, in ecom9's order (no paging then). */
export interface TiersParams extends AccountRefParams {
  page?: number;
  pageSize?: number;
  subscription?: string;
}
/** A checkout link: by product name, or by subscription and tier. */
export type PublicUrlParams = AccountRefParams & ({ productName: string } | { subscriptionName: string; tierName: string });
/** The repair link of a past-due subscription. */
export interface FixSubscriptionParams extends AccountRefParams {
  subscriptionName: string;
  tierName: string;
}
/** Whether the account holds an entitlement. */
export interface EntitlementParams extends AccountRefParams {
  productCode: string;
  entitlementCode: string;
}
/** The account's prepaid balance on a meter. */
export interface CreditsParams extends AccountRefParams {
  productCode: string;
  meterCode: string;
}
/** The account's usage of a meter over a window. */
export interface UsageSummaryParams extends AccountRefParams {
  productCode: string;
  meterCode: string;
  start?: string | Date;
  end?: string | Date;
}

const iso = (d: string | Date | undefined) => (d instanceof Date ? d.toISOString() : d);

/**
 * The account's status. `tier` without `subscription` (as the reference's snippet does) is not sent:
 * ecom9 refuses it, so the unfiltered status is fetched and narrowed to that tier here.
 */
export function accountStatusQuery(c: Ecom9Connection, p: AccountStatusParams = {}): Ecom9QueryOptions<AccountStatus> {
  if (p.tier === undefined || p.subscription !== undefined)
    return options<AccountStatus>(c, 'status', { subscription: p.subscription, tier: p.tier, account_ref_id: p.accountRefId });
  const tier = p.tier;
  return {
    ...options<AccountStatus>(c, 'status', { account_ref_id: p.accountRefId }),
    select: (s: AccountStatus): AccountStatus => {
      const subscriptions = s.subscriptions.filter((x) => x.subscription_tier.label_name === tier);
      return { ...s, subscriptions, total_subscriptions: subscriptions.length, is_active: subscriptions.some((x) => x.is_active) };
    },
  };
}
export const transactionsQuery = (c: Ecom9Connection, p: TransactionsParams = {}): Ecom9QueryOptions<Page<Transaction>> =>
  options<Page<Transaction>>(c, 'transactions', { page: p.page, page_size: p.pageSize, status: p.status, account_ref_id: p.accountRefId });
export const tiersQuery = (c: Ecom9Connection, p: TiersParams = {}): Ecom9QueryOptions<Page<Tier>> =>
  options<Page<Tier>>(c, 'tiers', { page: p.page, page_size: p.pageSize, subscription: p.subscription, account_ref_id: p.accountRefId });
export const publicUrlQuery = (c: Ecom9Connection, p: PublicUrlParams): Ecom9QueryOptions<{ public_url: string }> =>
  options<{ public_url: string }>(
    c,
    'public-url',
    'productName' in p
      ? { product_name: p.productName, account_ref_id: p.accountRefId }
      : { subscription_name: p.subscriptionName, tier_name: p.tierName, account_ref_id: p.accountRefId },
  );
export const fixSubscriptionQuery = (c: Ecom9Connection, p: FixSubscriptionParams): Ecom9QueryOptions<{ url: string | null }> =>
  options<{ url: string | null }>(c, 'fix-subscription', { subscription_name: p.subscriptionName, tier_name: p.tierName, account_ref_id: p.accountRefId });
export const entitlementQuery = (c: Ecom9Connection, p: EntitlementParams): Ecom9QueryOptions<EntitlementCheck> =>
  options<EntitlementCheck>(c, 'entitlements/check', { product_code: p.productCode, entitlement_code: p.entitlementCode, account_ref_id: p.accountRefId });
export const creditsQuery = (c: Ecom9Connection, p: CreditsParams): Ecom9QueryOptions<CreditBalance> =>
  options<CreditBalance>(c, 'credits/balance', { product_code: p.productCode, meter_code: p.meterCode, account_ref_id: p.accountRefId });
export const usageSummaryQuery = (c: Ecom9Connection, p: UsageSummaryParams): Ecom9QueryOptions<UsageSummary> =>
  options<UsageSummary>(c, 'usage/summary', {
    product_code: p.productCode,
    meter_code: p.meterCode,
    start: iso(p.start),
    end: iso(p.end),
    account_ref_id: p.accountRefId,
  });

export type { AccountStatus, CreditBalance, EntitlementCheck, Page, Subscription, Tier, Transaction, UsageSummary };
