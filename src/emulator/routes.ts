// The twelve endpoints of the emulator, answering as ecom9-api.md documents: one function per
// endpoint from a parsed request to a status and a body.
import { z } from 'zod';
import type { EndpointName } from '../shared/endpoints';
import type { ParsedProductFixture } from './fixture-types';
import type { EmuAccount, EmulatorState } from './state';

export interface EmuRequest {
  method: string;
  /** Path params, percent-decoded. */
  params: Record<string, string>;
  query: URLSearchParams;
  body: unknown;
  /** scheme://host of the request, for next/previous links. */
  origin: string;
  path: string;
}

export interface EmuResponse {
  status: number;
  /** undefined: an empty body. */
  body?: unknown;
}

const NOT_FOUND: EmuResponse = { status: 404, body: { error: 'Account not found or invalid subscription tier' } };
const bad = (fields: Record<string, string>): EmuResponse => ({ status: 400, body: Object.fromEntries(Object.entries(fields).map(([f, m]) => [f, [m]])) });

function requireQuery(q: URLSearchParams, names: string[]): EmuResponse | Record<string, string> {
  const missing: Record<string, string> = {};
  const out: Record<string, string> = {};
  for (const n of names) {
    const v = q.get(n);
    if (!v) missing[n] = 'This field is required.';
    else out[n] = v;
  }
  return Object.keys(missing).length ? bad(missing) : out;
}
const isResponse = (v: EmuResponse | Record<string, string>): v is EmuResponse => typeof (v as EmuResponse).status === 'number';

function paginate<T>(req: EmuRequest, items: T[]): EmuResponse {
  const page = Number(req.query.get('page') ?? '1');
  const size = Number(req.query.get('page_size') ?? '20');
  if (!Number.isInteger(page) || page < 1) return bad({ page: 'A valid integer is required.' });
  if (!Number.isInteger(size) || size < 1 || size > 100) return bad({ page_size: 'Ensure this value is between 1 and 100.' });
  const pages = Math.max(1, Math.ceil(items.length / size));
  if (page > pages) return { status: 404, body: { error: 'Invalid page.' } };
  const link = (p: number) => {
    const q = new URLSearchParams(req.query);
    q.set('page', String(p));
    q.set('page_size', String(size));
    return `${req.origin}${req.path}?${q}`;
  };
  return {
    status: 200,
    body: {
      count: items.length,
      next: page < pages ? link(page + 1) : null,
      previous: page > 1 ? link(page - 1) : null,
      results: items.slice((page - 1) * size, page * size),
    },
  };
}

function tierBody(state: EmulatorState, subscription: string, tier: string) {
  const p = state.products.get(subscription);
  const t = p?.tiers.find((x) => x.label_name === tier);
  return {
    label_name: tier,
    name: t?.name ?? tier,
    description: t?.description ?? '',
    price: t?.price ?? '0.00',
    billing_cycle: t?.billing_cycle ?? 'monthly',
    features: t?.features ?? '',
    is_popular: t?.is_popular ?? false,
    product_manage_id: p?.manage_id ?? null,
  };
}

const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

function status(state: EmulatorState, req: EmuRequest, acc: EmuAccount): EmuResponse {
  const sub = req.query.get('subscription') || undefined;
  const tier = req.query.get('tier') || undefined;
  if (tier && !sub) return bad({ subscription: 'This field is required when tier is provided.' });
  const subs = acc.subscriptions.filter((s) => (!sub || s.subscription === sub) && (!tier || s.tier === tier));
  if ((sub || tier) && subs.length === 0) return NOT_FOUND;
  const entries = subs.map((s) => ({
    is_active: s.state === 'active',
    created_at: iso(s.createdAt),
    updated_at: iso(s.updatedAt),
    subscription_tier: tierBody(state, s.subscription, s.tier),
  }));
  if (entries.length === 1) return { status: 200, body: { account_ref_id: acc.ref, customer_email: acc.email, ...entries[0] } };
  return { status: 200, body: { account_ref_id: acc.ref, customer_email: acc.email, subscriptions: entries, total_subscriptions: entries.length } };
}

const eventBody = z.object({
  account_ref_id: z.string().min(1),
  product_code: z.string().min(1),
  meter_code: z.string().min(1),
  quantity: z.number().int().positive(),
  event_key: z.string().min(1).max(255),
  metadata: z.record(z.string(), z.unknown()).optional(),
});

const invoiceBody = z.object({
  product_manage_id: z.string().min(1),
  amount: z.number().positive(),
  customer_email: z.email(),
  currency: z.string().optional(),
  description: z.string().optional(),
  send_to_customer: z.boolean().optional(),
  return_url: z.string().optional(),
});

function zodFields(err: z.ZodError): EmuResponse {
  const fields: Record<string, string[]> = {};
  for (const i of err.issues) (fields[String(i.path[0] ?? 'non_field_errors')] ??= []).push(i.message);
  return { status: 400, body: fields };
}

function timeBound(q: URLSearchParams, name: string): number | undefined | EmuResponse {
  const v = q.get(name);
  if (!v) return undefined;
  const t = Date.parse(v);
  return Number.isNaN(t) ? bad({ [name]: 'Datetime has wrong format. Use ISO 8601.' }) : t;
}

export const ROUTES: Record<EndpointName, (state: EmulatorState, req: EmuRequest) => EmuResponse> = {
  'transactions.list'(state, req) {
    const acc = state.accounts.get(req.params.ref as string);
    if (!acc) return NOT_FOUND;
    const st = req.query.get('status');
    if (st && !['pending', 'completed', 'failed', 'cancelled'].includes(st)) return bad({ status: `"${st}" is not a valid choice.` });
    return paginate(req, st ? acc.transactions.filter((t) => t.status === st) : acc.transactions);
  },
  'accounts.status'(state, req) {
    const acc = state.accounts.get(req.params.ref as string);
    return acc ? status(state, req, acc) : NOT_FOUND;
  },
  'products.list'(state) {
    const results = [...state.products.values()]
      .sort((a, b) => a.label_name.localeCompare(b.label_name))
      .map((p) => ({ manage_id: p.manage_id, label_name: p.label_name, type: p.type }));
    return { status: 200, body: { results, count: results.length } };
  },
  'invoices.create'(state, req) {
    const parsed = invoiceBody.safeParse(req.body);
    if (!parsed.success) return zodFields(parsed.error);
    if (!state.productById(parsed.data.product_manage_id)) return { status: 404, body: { error: 'Product not found' } };
    const id = `in_${Math.random().toString(36).slice(2, 14)}`;
    return {
      status: 200,
      body: {
        hosted_invoice_url: `${req.origin}/invoice/${id}`,
        stripe_invoice_id: id,
        email_sent: parsed.data.send_to_customer ?? false,
        return_url: parsed.data.return_url ?? null,
      },
    };
  },
  'tiers.list'(state, req) {
    const tiers = [...state.products.values()].flatMap((p) => p.tiers.map((t) => ({ ...t, product_manage_id: p.manage_id })));
    return paginate(req, tiers);
  },
  'links.resolvePublicUrl'(state, req) {
    const q = req.query;
    const ref = q.get('account_ref_id');
    if (!ref) return bad({ account_ref_id: 'This field is required.' });
    const productName = q.get('product_name');
    const subName = q.get('subscription_name');
    const tierName = q.get('tier_name');
    if (productName && (subName || tierName)) return bad({ product_name: 'Use product_name or subscription_name + tier_name, not both.' });
    let product: ParsedProductFixture | undefined;
    if (productName) product = state.products.get(productName);
    else {
      const need = requireQuery(q, ['subscription_name', 'tier_name', 'email']);
      if (isResponse(need)) return need;
      product = state.products.get(need.subscription_name as string);
      if (product && !product.tiers.some((t) => t.label_name === need.tier_name)) product = undefined;
    }
    // "must match the account that owns the subscription": the emulator checks only that the account
    // exists, not that it owns the subscription or that the email matches, so a test can resolve the
    // link of a tier the account does not have yet (an upgrade page).
    if (!state.accounts.has(ref)) return NOT_FOUND;
    if (!product?.saas_only) return { status: 404, body: { error: 'Not found.' } };
    const token = Buffer.from(JSON.stringify({ account_ref_id: ref, tier: tierName ?? null })).toString('base64url');
    return { status: 200, body: { public_url: `${req.origin}/p/${product.manage_id}?u=${token}` } };
  },
  'subscriptions.fix'(state, req) {
    const need = requireQuery(req.query, ['account_ref_id', 'subscription_name', 'tier_name']);
    if (isResponse(need)) return need;
    const acc = state.accounts.get(need.account_ref_id as string);
    const s = acc?.subscriptions.find((x) => x.subscription === need.subscription_name && x.tier === need.tier_name);
    if (!s) return NOT_FOUND;
    if (s.state !== 'past_due' && s.state !== 'incomplete') return { status: 200 };
    return { status: 200, body: { url: `${req.origin}/pay/in_${Buffer.from(`${acc?.ref}:${s.tier}`).toString('hex').slice(0, 16)}` } };
  },
  'entitlements.check'(state, req) {
    const need = requireQuery(req.query, ['account_ref_id', 'product_code', 'entitlement_code']);
    if (isResponse(need)) return need;
    const { account_ref_id: ref, product_code: product, entitlement_code: ent } = need as Record<string, string>;
    if (!state.accounts.has(ref as string)) return NOT_FOUND;
    return {
      status: 200,
      body: {
        account_ref_id: ref,
        product_code: product,
        entitlement_code: ent,
        has_access: state.hasEntitlement(ref as string, product as string, ent as string),
      },
    };
  },
  'credits.balance'(state, req) {
    const need = requireQuery(req.query, ['account_ref_id', 'product_code', 'meter_code']);
    if (isResponse(need)) return need;
    const { account_ref_id: ref, product_code: product, meter_code: meter } = need as Record<string, string>;
    return {
      status: 200,
      body: { account_ref_id: ref, product_code: product, meter_code: meter, balance: state.credits(ref as string, product as string, meter as string) },
    };
  },
  'credits.debit'(state, req) {
    const parsed = eventBody.safeParse(req.body);
    if (!parsed.success) return zodFields(parsed.error);
    const b = parsed.data;
    return { status: 200, body: state.debit(b.account_ref_id, b.product_code, b.meter_code, b.quantity, b.event_key) };
  },
  'usage.record'(state, req) {
    const parsed = eventBody.safeParse(req.body);
    if (!parsed.success) return zodFields(parsed.error);
    const b = parsed.data;
    return { status: 200, body: state.recordUsage(b.account_ref_id, b.product_code, b.meter_code, b.quantity, b.event_key) };
  },
  'usage.summary'(state, req) {
    const need = requireQuery(req.query, ['account_ref_id', 'product_code', 'meter_code']);
    if (isResponse(need)) return need;
    const start = timeBound(req.query, 'start');
    const end = timeBound(req.query, 'end');
    if (typeof start === 'object') return start;
    if (typeof end === 'object') return end;
    const { account_ref_id: ref, product_code: product, meter_code: meter } = need as Record<string, string>;
    return {
      status: 200,
      body: {
        account_ref_id: ref,
        product_code: product,
        meter_code: meter,
        total_usage: state.usageTotal(ref as string, product as string, meter as string, start, end),
      },
    };
  },
};

/** Finds the endpoint for a method and raw path (dot segments are not resolved: they would be another endpoint). */
export function matchRoute(method: string, rawPath: string): { endpoint: EndpointName; params: Record<string, string> } | { status: 404 | 405 } {
  const m = /^\/api\/(.*)$/.exec(rawPath);
  if (!m) return { status: 404 };
  const rest = m[1] as string;
  const table: Array<[RegExp, EndpointName, 'GET' | 'POST']> = [
    [/^transactions\/([^/]+)\/$/, 'transactions.list', 'GET'],
    [/^account\/([^/]+)\/status\/$/, 'accounts.status', 'GET'],
    [/^products\/$/, 'products.list', 'GET'],
    [/^invoices\/create\/$/, 'invoices.create', 'POST'],
    [/^tiers\/$/, 'tiers.list', 'GET'],
    [/^resolve\/public-url\/$/, 'links.resolvePublicUrl', 'GET'],
    [/^fix-subscription\/$/, 'subscriptions.fix', 'GET'],
    [/^entitlements\/check\/$/, 'entitlements.check', 'GET'],
    [/^usage\/credits\/balance\/$/, 'credits.balance', 'GET'],
    [/^usage\/credits\/debit\/$/, 'credits.debit', 'POST'],
    [/^usage\/events\/$/, 'usage.record', 'POST'],
    [/^usage\/summary\/$/, 'usage.summary', 'GET'],
  ];
  for (const [re, endpoint, verb] of table) {
    const hit = re.exec(rest);
    if (!hit) continue;
    if (method !== verb) return { status: 405 };
    if (hit[1] === undefined) return { endpoint, params: {} };
    let ref: string;
    try {
      ref = decodeURIComponent(hit[1]);
    } catch {
      return { status: 404 };
    }
    if (ref === '.' || ref === '..') return { status: 404 };
    return { endpoint, params: { ref } };
  }
  return { status: 404 };
}
