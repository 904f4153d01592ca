// zod schemas of every ecom9 response, keeping the API's snake_case and its money as decimal strings.
// Unknown extra fields pass through: ecom9 may add fields without breaking us. Each response type is
// written out as an interface (what the public signatures name; the schemas stay internal), and each
// schema `satisfies` its interface, so the two cannot drift apart.
import { z } from 'zod';

const money = z.union([z.string(), z.number().transform(String)]);

/** A tier as ecom9 sends it (extra fields pass through). */
export interface Tier {
  label_name: string;
  name?: string | null | undefined;
  description?: string | null | undefined;
  /** A decimal string, as sent. */
  price?: string | null | undefined;
  billing_cycle?: string | null | undefined;
  /** Comma-separated. */
  features?: string | null | undefined;
  is_popular?: boolean | null | undefined;
  product_manage_id?: string | null | undefined;
  [field: string]: unknown;
}
export const tierSchema = z.looseObject({
  label_name: z.string(),
  name: z.string().nullish(),
  description: z.string().nullish(),
  price: money.nullish(),
  billing_cycle: z.string().nullish(),
  features: z.string().nullish(),
  is_popular: z.boolean().nullish(),
  product_manage_id: z.string().nullish(),
}) satisfies z.ZodType<Tier>;

/** One subscription of an account. */
export interface Subscription {
  is_active: boolean;
  created_at?: string | null | undefined;
  updated_at?: string | null | undefined;
  subscription_tier: Tier;
  [field: string]: unknown;
}
export const subscriptionSchema = z.looseObject({
  is_active: z.boolean(),
  created_at: z.string().nullish(),
  updated_at: z.string().nullish(),
  subscription_tier: tierSchema,
}) satisfies z.ZodType<Subscription>;

const singleStatus = z.looseObject({
  account_ref_id: z.string(),
  customer_email: z.string().nullish(),
  is_active: z.boolean(),
  created_at: z.string().nullish(),
  updated_at: z.string().nullish(),
  subscription_tier: tierSchema,
});

// The single shape with `subscription_tier` null or missing: an account without a plan. That is a
// tier_required denial for the gate, not an upstream failure, so it must parse.
const noPlanStatus = z.looseObject({
  account_ref_id: z.string(),
  customer_email: z.string().nullish(),
  is_active: z.boolean().nullish(),
  subscription_tier: z.null().optional(),
});

const multiStatus = z.looseObject({
  account_ref_id: z.string(),
  customer_email: z.string().nullish(),
  subscriptions: z.array(subscriptionSchema),
  total_subscriptions: z.number().int().nonnegative().optional(),
});

/** Account status, normalised to a list whichever of its two shapes ecom9 sent. */
export interface AccountStatus {
  account_ref_id: string;
  customer_email: string | null;
  /** True when any subscription is active. */
  is_active: boolean;
  subscriptions: Subscription[];
  total_subscriptions: number;
}

/** Accepts either shape; a body with `subscriptions` is the list shape, anything else the single one. */
export const accountStatusSchema = z.unknown().transform((raw, ctx): AccountStatus => {
  const body = typeof raw === 'object' && raw !== null ? (raw as Record<string, unknown>) : undefined;
  const shape = body && 'subscriptions' in body ? multiStatus : body && body.subscription_tier != null ? singleStatus : noPlanStatus;
  const parsed = shape.safeParse(raw);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) ctx.addIssue({ code: 'custom', message: issue.message, path: issue.path });
    return z.NEVER;
  }
  const s = parsed.data;
  let subscriptions: Subscription[] = [];
  let isActive: boolean | undefined;
  if ('subscriptions' in s) subscriptions = s.subscriptions as Subscription[];
  else if (s.subscription_tier) {
    const one = s as z.output<typeof singleStatus>;
    subscriptions = [{ is_active: one.is_active, created_at: one.created_at, updated_at: one.updated_at, subscription_tier: one.subscription_tier }];
  } else isActive = (s as z.output<typeof noPlanStatus>).is_active ?? false;
  const total = (s as { total_subscriptions?: number }).total_subscriptions;
  return {
    account_ref_id: s.account_ref_id,
    customer_email: (s.customer_email as string | null | undefined) ?? null,
    is_active: isActive ?? subscriptions.some((x) => x.is_active),
    subscriptions,
    total_subscriptions: typeof total === 'number' ? total : subscriptions.length,
  };
});

/** One transaction; `amount` a decimal string, as sent. */
export interface Transaction {
  transaction_uuid: string;
  account_ref_id: string;
  status: string;
  amount: string;
  currency: string;
  customer_email?: string | null | undefined;
  created_at: string;
  updated_at?: string | null | undefined;
  [field: string]: unknown;
}
export const transactionSchema = z.looseObject({
  transaction_uuid: z.string(),
  account_ref_id: z.string(),
  status: z.string(),
  amount: money,
  currency: z.string(),
  customer_email: z.string().nullish(),
  created_at: z.string(),
  updated_at: z.string().nullish(),
}) satisfies z.ZodType<Transaction>;

/** A page as sent: `next`/`previous` may be absent (the /tiers/ example has neither), which the iterator must tell from null. */
export function rawPageSchema<T extends z.ZodType>(item: T) {
  return z.object({
    count: z.number().int().nonnegative(),
    next: z.string().nullable().optional(),
    previous: z.string().nullable().optional(),
    results: z.array(item),
  });
}
export interface RawPage<T> {
  count: number;
  next?: string | null | undefined;
  previous?: string | null | undefined;
  results: T[];
}
export interface Page<T> {
  count: number;
  next: string | null;
  previous: string | null;
  results: T[];
}
/** What `list` returns: an absent link reads as null. */
export const normalisePage = <T>(p: RawPage<T>): Page<T> => ({ count: p.count, next: p.next ?? null, previous: p.previous ?? null, results: p.results });

export interface Product {
  manage_id: string;
  label_name?: string | null | undefined;
  type: string;
  [field: string]: unknown;
}
export const productSchema = z.looseObject({
  manage_id: z.string(),
  label_name: z.string().nullish(),
  type: z.string(),
}) satisfies z.ZodType<Product>;
export const productListSchema = z.object({ results: z.array(productSchema), count: z.number().int().nonnegative() });

export interface Invoice {
  hosted_invoice_url: string;
  stripe_invoice_id?: string | null | undefined;
  email_sent?: boolean | null | undefined;
  return_url?: string | null | undefined;
  [field: string]: unknown;
}
export const invoiceSchema = z.looseObject({
  hosted_invoice_url: z.string(),
  stripe_invoice_id: z.string().nullish(),
  email_sent: z.boolean().nullish(),
  return_url: z.string().nullish(),
}) satisfies z.ZodType<Invoice>;

export const publicUrlSchema = z.looseObject({ public_url: z.string() });
// "If there is no past-due invoice ... the response body is empty": an empty body (the transport's
// `empty`), `null`, `{}` and `{"url": null}` are all readings of that, and all mean nothing to pay.
export const fixSubscriptionSchema = z
  .union([z.null(), z.looseObject({ url: z.string().nullish() })])
  .transform((v): { url: string | null } => ({ url: v?.url ?? null }));

export interface EntitlementCheck {
  account_ref_id: string;
  product_code: string;
  entitlement_code: string;
  has_access: boolean;
  [field: string]: unknown;
}
export const entitlementSchema = z.looseObject({
  account_ref_id: z.string(),
  product_code: z.string(),
  entitlement_code: z.string(),
  has_access: z.boolean(),
}) satisfies z.ZodType<EntitlementCheck>;

export interface CreditBalance {
  account_ref_id: string;
  product_code: string;
  meter_code: string;
  balance: number;
  [field: string]: unknown;
}
export const balanceSchema = z.looseObject({
  account_ref_id: z.string(),
  product_code: z.string(),
  meter_code: z.string(),
  balance: z.number(),
}) satisfies z.ZodType<CreditBalance>;

export interface DebitResult {
  approved: boolean;
  debited?: number | undefined;
  remaining_balance: number;
  error_code?: string | undefined;
  [field: string]: unknown;
}
export const debitSchema = z.looseObject({
  approved: z.boolean(),
  debited: z.number().optional(),
  remaining_balance: z.number(),
  error_code: z.string().optional(),
}) satisfies z.ZodType<DebitResult>;

export interface UsageRecordResult {
  accepted: boolean;
  recorded_quantity?: number | undefined;
  idempotent?: boolean | undefined;
  error_code?: string | undefined;
  [field: string]: unknown;
}
export const usageRecordSchema = z.looseObject({
  accepted: z.boolean(),
  recorded_quantity: z.number().optional(),
  idempotent: z.boolean().optional(),
  error_code: z.string().optional(),
}) satisfies z.ZodType<UsageRecordResult>;

export interface UsageSummary {
  account_ref_id: string;
  product_code: string;
  meter_code: string;
  total_usage: number;
  [field: string]: unknown;
}
export const usageSummarySchema = z.looseObject({
  account_ref_id: z.string(),
  product_code: z.string(),
  meter_code: z.string(),
  total_usage: z.number(),
}) satisfies z.ZodType<UsageSummary>;
