// The browser routes' query strings, validated with zod before anything reaches ecom9: each route's
// schema and the client call it becomes. A bad query is a 400 naming the field, with no upstream call.
import { z } from 'zod';
import type { Ecom9Client } from '../client';
import type { Page, Tier } from '../client/schemas';

const label = z.string().min(1).max(200);
const pageNo = z.coerce.number().int().min(1).max(100_000);
// ecom9's own limit: "page_size (optional, default 20, max 100)".
const pageSize = z.coerce.number().int().min(1).max(100);
const date = z
  .string()
  .max(64)
  .refine((v) => !Number.isNaN(Date.parse(v)), { message: 'must be an ISO 8601 date' });

/** `account_ref_id` may be sent (the reference's hooks do); it is checked against the session, never used. */
const shape = <T extends z.ZodRawShape>(fields: T) => z.strictObject({ ...fields, account_ref_id: z.string().optional() });

const statusQuery = shape({ subscription: label.optional(), tier: label.optional() }).refine((q) => q.tier === undefined || q.subscription !== undefined, {
  message: 'is required whenever tier is given',
  path: ['subscription'],
});
// `subscription` (a product's label) lists every tier of that product, in ecom9's order: ecom9's own
// list mixes the tiers of all products (two may share a label such as "pro"), which a pricing table cannot show.
const tiersQuery = shape({ page: pageNo.optional(), page_size: pageSize.optional(), subscription: label.optional() }).refine(
  (q) => q.subscription === undefined || (q.page === undefined && q.page_size === undefined),
  { message: 'cannot be combined with subscription (which lists all of its tiers)', path: ['page'] },
);
const txQuery = shape({ page: pageNo.optional(), page_size: pageSize.optional(), status: label.optional() });
const publicUrlQuery = shape({ product_name: label.optional(), subscription_name: label.optional(), tier_name: label.optional() }).superRefine((q, ctx) => {
  if (q.product_name !== undefined) {
    if (q.subscription_name !== undefined || q.tier_name !== undefined)
      ctx.addIssue({ code: 'custom', path: ['product_name'], message: 'cannot be combined with subscription_name and tier_name' });
    return;
  }
  if (q.subscription_name === undefined) ctx.addIssue({ code: 'custom', path: ['subscription_name'], message: 'is required (or product_name)' });
  if (q.tier_name === undefined) ctx.addIssue({ code: 'custom', path: ['tier_name'], message: 'is required (or product_name)' });
});
const fixQuery = shape({ subscription_name: label, tier_name: label });
const entitlementQuery = shape({ product_code: label, entitlement_code: label });
const balanceQuery = shape({ product_code: label, meter_code: label });
const summaryQuery = shape({ product_code: label, meter_code: label, start: date.optional(), end: date.optional() });

/** What a route needs from the server besides its query: the client, and the account's email (public-url). */
export interface RouteContext {
  client: Ecom9Client;
  ref: string;
  /** The account's email, for a checkout link by subscription and tier (ecom9 asks for one). */
  email(): Promise<string | undefined>;
  /** Status and entitlement answers go through a short cache that every invalidation drops. */
  cached<T>(key: string, load: () => Promise<T>): Promise<T>;
}

export interface RouteSpec {
  schema: z.ZodType<Record<string, unknown>>;
  run(q: Record<string, unknown>, c: RouteContext): Promise<unknown>;
}

// biome-ignore lint/suspicious/noExplicitAny: each schema's output is read by its own run.
type Q = any;

const spec = <S extends z.ZodType>(schema: S, run: (q: Q, c: RouteContext) => Promise<unknown>): RouteSpec => ({
  schema: schema as unknown as z.ZodType<Record<string, unknown>>,
  run,
});

/** The read-only routes, by path under the prefix. Nothing here writes: no debit, usage or invoice. */
export const ROUTES: Readonly<Record<string, RouteSpec>> = Object.freeze({
  status: spec(statusQuery, (q, c) =>
    c.cached(`s\u0000${q.subscription ?? ''}\u0000${q.tier ?? ''}`, () =>
      c.client.accounts.status({ accountRefId: c.ref, ...(q.subscription ? { subscription: q.subscription } : {}), ...(q.tier ? { tier: q.tier } : {}) }),
    ),
  ),
  transactions: spec(txQuery, (q, c) => c.client.transactions.list({ accountRefId: c.ref, page: q.page, pageSize: q.page_size, status: q.status })),
  tiers: spec(tiersQuery, (q, c) => (q.subscription === undefined ? c.client.tiers.list({ page: q.page, pageSize: q.page_size }) : tiersOf(c, q.subscription))),
  'public-url': spec(publicUrlQuery, async (q, c) => {
    if (q.product_name !== undefined) return c.client.links.resolvePublicUrl({ accountRefId: c.ref, productName: q.product_name });
    const email = await c.email();
    if (email === undefined) throw new NoEmailError();
    return c.client.links.resolvePublicUrl({ accountRefId: c.ref, subscriptionName: q.subscription_name, tierName: q.tier_name, email });
  }),
  'fix-subscription': spec(fixQuery, (q, c) =>
    c.client.subscriptions.fix({ accountRefId: c.ref, subscriptionName: q.subscription_name, tierName: q.tier_name }),
  ),
  'entitlements/check': spec(entitlementQuery, (q, c) =>
    c.cached(`e\u0000${q.product_code}\u0000${q.entitlement_code}`, () =>
      c.client.entitlements.check({ accountRefId: c.ref, productCode: q.product_code, entitlementCode: q.entitlement_code }),
    ),
  ),
  'credits/balance': spec(balanceQuery, (q, c) => c.client.credits.balance({ accountRefId: c.ref, productCode: q.product_code, meterCode: q.meter_code })),
  'usage/summary': spec(summaryQuery, (q, c) =>
    c.client.usage.summary({ accountRefId: c.ref, productCode: q.product_code, meterCode: q.meter_code, start: q.start, end: q.end }),
  ),
});

/** Every tier of one product (by its label), as one page. */
async function tiersOf(c: RouteContext, subscription: string): Promise<Page<Tier>> {
  const product = (await c.client.products.list()).results.find((p) => p.label_name === subscription);
  if (!product) throw new NoSuchSubscriptionError();
  const results: Tier[] = [];
  for await (const t of c.client.tiers.iterate({ pageSize: 100 })) if (t.product_manage_id === product.manage_id) results.push(t);
  return { count: results.length, next: null, previous: null, results };
}

/** No product of ecom9's has the label a tiers query named. */
export class NoSuchSubscriptionError extends Error {
  constructor() {
    super('ecom9-gate: no product has this subscription label');
  }
}

/** ecom9 knows no email for the account, so a checkout link by subscription and tier cannot be made. */
export class NoEmailError extends Error {
  constructor() {
    super('ecom9-gate: the account has no customer email for a checkout link');
  }
}

/** The query as one value per name (a repeated name is a 400: which one would be meant?). */
export function queryObject(query: URLSearchParams): { value: Record<string, string> } | { repeated: string } {
  const out: Record<string, string> = {};
  for (const [k, v] of query) {
    if (Object.hasOwn(out, k)) return { repeated: k };
    out[k] = v;
  }
  return { value: out };
}
