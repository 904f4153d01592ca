// The console's JSON API under /__emulator/: read the state and the call log, change an account's
// billing state (each change sent as a signed webhook to every webhook URL), inject and clear faults,
// send a webhook. Bodies are checked with zod; every refusal is problem+json naming the field.
import { z } from 'zod';
import { ENDPOINTS } from '../shared/endpoints';
import { FAULT_KINDS, type Faults, type FaultSpec } from './faults';
import { SUB_STATES } from './fixtures';
import type { SubState } from './fixture-types';
import { didYouMean } from '../shared/nearest-name';
import type { CallRecord } from './call-log';
import type { EmulatorState } from './state';
import { accountView, stateView } from './state-view';
import type { WebhookPayloadInput } from './webhooks';
import { fieldIssues, type FieldIssue } from './zod-issues';

export const PROBLEM_JSON = 'application/problem+json';

/** What one webhook URL answered (or why it could not be reached). */
export type Delivery = { url: string; status: number } | { url: string; error: string };

export interface AdminDeps {
  state: EmulatorState;
  faults: Faults;
  calls: readonly CallRecord[];
  webhookUrls: readonly string[];
  /** Sends one webhook to every webhook URL; resolves with the full payload and each URL's answer. */
  notify: (p: WebhookPayloadInput) => Promise<{ webhook: Record<string, unknown>; deliveries: Delivery[] }>;
}

export interface AdminRequest {
  method: string;
  /** The path after `/__emulator/`, still percent-encoded. */
  path: string;
  query: URLSearchParams;
  /** The raw body text ('' when none). */
  text: string;
}

export interface AdminAnswer {
  status: number;
  body: unknown;
  contentType: string;
  headers?: Record<string, string>;
}

const TITLES: Record<number, string> = { 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 405: 'Method Not Allowed' };

export function problem(status: number, detail: string, errors?: FieldIssue[], headers?: Record<string, string>): AdminAnswer {
  return {
    status,
    contentType: PROBLEM_JSON,
    body: { type: 'about:blank', title: TITLES[status] ?? 'Error', status, detail, ...(errors ? { errors } : {}) },
    ...(headers ? { headers } : {}),
  };
}
const ok = (body: unknown): AdminAnswer => ({ status: 200, body, contentType: 'application/json' });
const badFields = (errors: FieldIssue[]) => problem(400, errors.map((e) => `${e.field}: ${e.message}`).join('; '), errors);

const subscriptionBody = z
  .strictObject({ tier: z.string().min(1).max(200).optional(), status: z.enum(SUB_STATES).optional() })
  .refine((b) => b.tier !== undefined || b.status !== undefined, { path: ['tier'], message: 'give tier, status or both' });
const creditsBody = z.strictObject({ balance: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER) });
const entitlementBody = z.strictObject({ hasAccess: z.boolean() });
const webhookBody = z.strictObject({ event: z.string().min(1).max(200), account_ref_id: z.string().min(1).max(200) });
const faultBody = z.strictObject({
  endpoint: z.enum(ENDPOINTS).optional(),
  accountRefId: z.string().min(1).optional(),
  kind: z.enum(FAULT_KINDS),
  ms: z.number().int().nonnegative().max(600_000).optional(),
  status: z.number().int().min(100).max(599).optional(),
  body: z.unknown().optional(),
  retryAfter: z.number().int().nonnegative().optional(),
  dropAfterProcessing: z.boolean().optional(),
  times: z.number().int().positive().optional(),
});
const callsQuery = z.strictObject({
  after: z.coerce.number().int().nonnegative().optional(),
  limit: z.coerce.number().int().min(1).max(1000).optional(),
});

function parse<T extends z.ZodType>(schema: T, text: string): { data: z.output<T> } | { answer: AdminAnswer } {
  let raw: unknown;
  try {
    raw = text === '' ? undefined : JSON.parse(text);
  } catch {
    return { answer: badFields([{ field: 'body', message: 'is not JSON' }]) };
  }
  const r = schema.safeParse(raw);
  return r.success ? { data: r.data } : { answer: badFields(fieldIssues(schema, r.error)) };
}

/** The subscription event ecom9 sends when a subscription whose rows were `before` takes `status`. */
function subscriptionEvent(before: ReadonlyArray<{ state: SubState }>, status: SubState): string {
  if (status === 'canceled') return 'subscription-cancelled';
  if (status === 'past_due') return 'payment-failed';
  if (status === 'incomplete') return 'subscription-incomplete';
  if (before.length === 0) return 'subscription-created';
  return before.some((s) => s.state === 'active') ? 'subscription-updated' : 'subscription-reactivated';
}

type Handler = (d: AdminDeps, p: string[], r: AdminRequest) => AdminAnswer | Promise<AdminAnswer>;

/** The routes: method and path pattern (`:x` a segment) to a handler of the decoded segments. */
const ROUTES: Array<[string, string, Handler]> = [
  ['GET', 'state', (d) => ok(stateView(d.state, d.faults, d.webhookUrls))],
  ['GET', 'calls', (d, _p, r) => calls(d, r)],
  ['PUT', 'accounts/:ref/subscriptions/:subscription', (d, [ref, sub], r) => putSubscription(d, ref as string, sub as string, r.text)],
  ['PUT', 'accounts/:ref/credits/:product/:meter', (d, [ref, product, meter], r) => putCredits(d, ref as string, product as string, meter as string, r.text)],
  [
    'PUT',
    'accounts/:ref/entitlements/:product/:entitlement',
    (d, [ref, product, ent], r) => putEntitlement(d, ref as string, product as string, ent as string, r.text),
  ],
  ['POST', 'faults', (d, _p, r) => postFault(d, r.text)],
  [
    'DELETE',
    'faults',
    (d) => {
      d.faults.clear();
      return ok({ faults: [] });
    },
  ],
  ['POST', 'webhooks', (d, _p, r) => postWebhook(d, r.text)],
];

function match(pattern: string, path: string): string[] | undefined {
  const want = pattern.split('/');
  const got = path.split('/');
  if (want.length !== got.length) return undefined;
  const params: string[] = [];
  for (let i = 0; i < want.length; i++) {
    const w = want[i] as string;
    let g: string;
    try {
      g = decodeURIComponent(got[i] as string);
    } catch {
      return undefined;
    }
    if (w.startsWith(':')) {
      if (g === '') return undefined;
      params.push(g);
    } else if (w !== g) return undefined;
  }
  return params;
}

export async function handleAdmin(d: AdminDeps, r: AdminRequest): Promise<AdminAnswer> {
  const allowed: string[] = [];
  for (const [method, pattern, handler] of ROUTES) {
    const params = match(pattern, r.path);
    if (!params) continue;
    if (method === r.method) return handler(d, params, r);
    allowed.push(method);
  }
  if (allowed.length) return problem(405, `${r.method} is not allowed on /__emulator/${r.path}`, undefined, { allow: allowed.join(', ') });
  return problem(404, `no console route /__emulator/${r.path}${didYouMean(r.path, [...new Set(ROUTES.map(([, p]) => p))], (s) => `"/__emulator/${s}"`)}`);
}

const noAccount = (d: AdminDeps, ref: string) => problem(404, `no account "${ref}"${didYouMean(ref, [...d.state.accounts.keys()])}`);

function calls(d: AdminDeps, r: AdminRequest): AdminAnswer {
  const q = callsQuery.safeParse(Object.fromEntries(r.query));
  if (!q.success) return badFields(fieldIssues(callsQuery, q.error));
  const after = q.data.after ?? 0;
  const limit = q.data.limit ?? 100;
  // Ids only grow: the newer calls are a tail, found from the end (the page asks twice a second).
  let from = d.calls.length;
  while (from > Math.max(0, d.calls.length - limit) && (d.calls[from - 1] as CallRecord).id > after) from--;
  const newer = d.calls.slice(from);
  return ok({ calls: newer, last: d.calls.at(-1)?.id ?? 0 });
}

async function changed(d: AdminDeps, ref: string, webhook: WebhookPayloadInput): Promise<AdminAnswer> {
  const sent = await d.notify(webhook);
  return ok({ account: accountView(d.state, ref), sent });
}

async function putSubscription(d: AdminDeps, ref: string, sub: string, text: string): Promise<AdminAnswer> {
  const body = parse(subscriptionBody, text);
  if ('answer' in body) return body.answer;
  const acc = d.state.accounts.get(ref);
  if (!acc) return noAccount(d, ref);
  const before = acc.subscriptions.filter((s) => s.subscription === sub).map((s) => ({ tier: s.tier, state: s.state, updatedAt: s.updatedAt }));
  const product = d.state.products.get(sub);
  if (!product && before.length === 0) return problem(404, `no subscription "${sub}"${didYouMean(sub, [...d.state.products.keys()])}`);
  const tiers = product?.tiers.map((t) => t.label_name) ?? [];
  const { tier: wanted, status: wantedStatus } = body.data;
  if (wanted !== undefined && tiers.length > 0 && !tiers.includes(wanted))
    return badFields([{ field: 'tier', message: `"${wanted}" is not a tier of ${sub} (${tiers.join(', ')})${didYouMean(wanted, tiers)}` }]);
  // Without a tier, the status applies to the subscription's current row: its active tier, else the latest.
  const current = before.find((s) => s.state === 'active') ?? before.slice().sort((a, b) => b.updatedAt - a.updatedAt)[0];
  const tier = wanted ?? current?.tier;
  if (tier === undefined) return badFields([{ field: 'tier', message: `is required: ${ref} has no ${sub} subscription yet` }]);
  const status = wantedStatus ?? 'active';
  d.state.setSubscription(ref, sub, tier, status);
  return changed(d, ref, { event: subscriptionEvent(before, status), account_ref_id: ref, label_name: tier, is_active: status === 'active' });
}

/** A product and one of its names (meter or entitlement) the fixtures declare, or the 404 that says which is unknown. */
function declared(d: AdminDeps, product: string, kind: 'meters' | 'entitlements', name: string): AdminAnswer | undefined {
  const p = d.state.products.get(product);
  if (!p) return problem(404, `no product "${product}"${didYouMean(product, [...d.state.products.keys()])}`);
  const names = p[kind];
  const what = kind === 'meters' ? 'meter' : 'entitlement';
  if (names.length > 0 && !names.includes(name)) return problem(404, `no ${what} "${name}" on ${product} (${names.join(', ')})${didYouMean(name, names)}`);
  return undefined;
}

async function putCredits(d: AdminDeps, ref: string, product: string, meter: string, text: string): Promise<AdminAnswer> {
  const body = parse(creditsBody, text);
  if ('answer' in body) return body.answer;
  if (!d.state.accounts.has(ref)) return noAccount(d, ref);
  const unknown = declared(d, product, 'meters', meter);
  if (unknown) return unknown;
  d.state.setCredits(ref, product, meter, body.data.balance);
  return changed(d, ref, { event: 'credits-updated', account_ref_id: ref, product_code: product, meter_code: meter, balance: body.data.balance });
}

async function putEntitlement(d: AdminDeps, ref: string, product: string, ent: string, text: string): Promise<AdminAnswer> {
  const body = parse(entitlementBody, text);
  if ('answer' in body) return body.answer;
  if (!d.state.accounts.has(ref)) return noAccount(d, ref);
  const unknown = declared(d, product, 'entitlements', ent);
  if (unknown) return unknown;
  d.state.setEntitlement(ref, product, ent, body.data.hasAccess);
  return changed(d, ref, {
    event: body.data.hasAccess ? 'entitlement-granted' : 'entitlement-revoked',
    account_ref_id: ref,
    product_code: product,
    entitlement_code: ent,
  });
}

function postFault(d: AdminDeps, text: string): AdminAnswer {
  const body = parse(faultBody, text);
  if ('answer' in body) return body.answer;
  d.faults.add(body.data as FaultSpec);
  return ok({ faults: d.faults.list() });
}

async function postWebhook(d: AdminDeps, text: string): Promise<AdminAnswer> {
  const body = parse(webhookBody, text);
  if ('answer' in body) return body.answer;
  if (!d.state.accounts.has(body.data.account_ref_id)) return noAccount(d, body.data.account_ref_id);
  return ok({ sent: await d.notify(body.data) });
}
