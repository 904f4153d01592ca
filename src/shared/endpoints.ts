// The twelve ecom9 endpoints by name: shared by the client (errors, retries) and the emulator
// (fault injection, call log).
export type EndpointName =
  | 'transactions.list'
  | 'accounts.status'
  | 'products.list'
  | 'invoices.create'
  | 'tiers.list'
  | 'links.resolvePublicUrl'
  | 'subscriptions.fix'
  | 'entitlements.check'
  | 'credits.balance'
  | 'credits.debit'
  | 'usage.record'
  | 'usage.summary';

export const ENDPOINTS = [
  'transactions.list',
  'accounts.status',
  'products.list',
  'invoices.create',
  'tiers.list',
  'links.resolvePublicUrl',
  'subscriptions.fix',
  'entitlements.check',
  'credits.balance',
  'credits.debit',
  'usage.record',
  'usage.summary',
] as const satisfies readonly EndpointName[];
