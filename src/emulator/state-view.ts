// What the console shows of the emulator's state: accounts with subscriptions, entitlements, credit
// balances, usage totals and recent debits; products; active faults. Plain JSON (GET /__emulator/state).
import type { Faults } from './faults';
import type { EmulatorState } from './state';

/** How many of an account's most recent debits the view carries. */
const RECENT_DEBITS = 5;

interface Totals {
  usage: Map<string, { product: string; meter: string; total: number }>;
  debits: Array<{ product: string; meter: string; quantity: number; event_key: string; approved: boolean; at: string }>;
}

/** Usage totals and recent debits of the accounts asked for, in one pass over each log. */
function totals(state: EmulatorState, refs: ReadonlySet<string>): Map<string, Totals> {
  const out = new Map<string, Totals>([...refs].map((r) => [r, { usage: new Map(), debits: [] }]));
  for (const e of state.usageEvents) {
    const t = out.get(e.accountRefId);
    if (!t) continue;
    const key = `${e.product}\u0000${e.meter}`;
    const row = t.usage.get(key) ?? { product: e.product, meter: e.meter, total: 0 };
    row.total += e.quantity;
    t.usage.set(key, row);
  }
  let wanted = refs.size;
  for (let i = state.ledger.length - 1; i >= 0 && wanted > 0; i--) {
    const d = state.ledger[i];
    const t = d && out.get(d.accountRefId);
    if (!d || !t || t.debits.length >= RECENT_DEBITS) continue;
    t.debits.push({ product: d.product, meter: d.meter, quantity: d.quantity, event_key: d.eventKey, approved: d.approved, at: new Date(d.at).toISOString() });
    if (t.debits.length === RECENT_DEBITS) wanted--;
  }
  return out;
}

function view(state: EmulatorState, ref: string, t: Totals) {
  const acc = state.accounts.get(ref);
  if (!acc) return undefined;
  return {
    account_ref_id: acc.ref,
    customer_email: acc.email,
    subscriptions: acc.subscriptions.map((s) => ({
      subscription: s.subscription,
      tier: s.tier,
      status: s.state,
      updated_at: new Date(s.updatedAt).toISOString(),
    })),
    entitlements: state.entitlementsOf(ref),
    credits: state.balancesOf(ref),
    usage: [...t.usage.values()],
    recent_debits: t.debits,
  };
}

export type AccountView = NonNullable<ReturnType<typeof view>>;

export function accountView(state: EmulatorState, ref: string): AccountView | undefined {
  const t = totals(state, new Set([ref])).get(ref) as Totals;
  return view(state, ref, t);
}

export function stateView(state: EmulatorState, faults: Faults, webhookUrls: readonly string[]) {
  const refs = [...state.accounts.keys()].sort();
  const all = totals(state, new Set(refs));
  return {
    accounts: refs.map((ref) => view(state, ref, all.get(ref) as Totals) as AccountView),
    products: [...state.products.values()].map((p) => ({
      label_name: p.label_name,
      type: p.type,
      usage_model: p.usage_model ?? null,
      tiers: p.tiers.map((t) => t.label_name),
      entitlements: p.entitlements,
      meters: p.meters,
    })),
    faults: faults.list(),
    webhook_urls: webhookUrls,
  };
}
