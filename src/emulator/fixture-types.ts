// The fixtures format as users write it (Fixtures) and as loadFixtures returns it (ParsedFixtures):
// interfaces written out, so that the published types name neither zod nor the private schema
// (fixtures.ts), which stays the runtime check and is checked there at compile time against these.

/** A subscription's state, as ecom9 reports it. */
export type SubState = 'active' | 'past_due' | 'incomplete' | 'canceled';

/** How a product is billed for usage. */
export type UsageModel = 'prepaid_credits' | 'metered_postpaid' | 'included_overage' | 'tiered_usage' | 'volume_usage';

/** A tier of a subscription product. */
export interface TierFixture {
  label_name: string;
  name: string;
  /** @default '' */
  description?: string | undefined;
  /** @default '0.00' */
  price?: string | undefined;
  /** @default 'monthly' */
  billing_cycle?: string | undefined;
  /** @default '' */
  features?: string | undefined;
  /** @default false */
  is_popular?: boolean | undefined;
}

/** A product: its tiers (a subscription), its meters and its entitlements. */
export interface ProductFixture {
  manage_id: string;
  label_name: string;
  type: 'single' | 'subscription';
  /** @default false */
  saas_only?: boolean | undefined;
  usage_model?: UsageModel | undefined;
  /** @default [] */
  meters?: string[] | undefined;
  /** @default [] */
  entitlements?: string[] | undefined;
  /** @default [] */
  tiers?: TierFixture[] | undefined;
}

/** An account's subscription to a product's tier. */
export interface SubscriptionFixture {
  subscription: string;
  tier: string;
  /** @default 'active' */
  state?: SubState | undefined;
}

/** An entitlement an account holds on a product. */
export interface EntitlementFixture {
  product: string;
  entitlement: string;
}

/** An account's prepaid balance on a product's meter. */
export interface CreditFixture {
  product: string;
  meter: string;
  balance: number;
}

/** An account: its email, subscriptions, entitlements, credits and how many transactions it has. */
export interface AccountFixture {
  account_ref_id: string;
  /** @default '' */
  customer_email?: string | undefined;
  /** @default [] */
  subscriptions?: SubscriptionFixture[] | undefined;
  /** @default [] */
  entitlements?: EntitlementFixture[] | undefined;
  /** @default [] */
  credits?: CreditFixture[] | undefined;
  /** @default 0 */
  transactions?: number | undefined;
}

/** The emulator's world, as written: an object, or the JSON of a fixtures file. */
export interface Fixtures {
  /** The key the emulator accepts, unless createEmulator is given one. */
  apiKey?: string | undefined;
  /** The secret it signs webhooks with, unless createEmulator is given one. */
  webhookSecret?: string | undefined;
  /** @default [] */
  products?: ProductFixture[] | undefined;
  /** @default [] */
  accounts?: AccountFixture[] | undefined;
}

/** A tier with its defaults filled in. */
export interface ParsedTierFixture extends TierFixture {
  description: string;
  price: string;
  billing_cycle: string;
  features: string;
  is_popular: boolean;
}

/** A product with its defaults filled in. */
export interface ParsedProductFixture extends ProductFixture {
  saas_only: boolean;
  meters: string[];
  entitlements: string[];
  tiers: ParsedTierFixture[];
}

/** A subscription with its state filled in. */
export interface ParsedSubscriptionFixture extends SubscriptionFixture {
  state: SubState;
}

/** An account with its defaults filled in. */
export interface ParsedAccountFixture extends AccountFixture {
  customer_email: string;
  subscriptions: ParsedSubscriptionFixture[];
  entitlements: EntitlementFixture[];
  credits: CreditFixture[];
  transactions: number;
}

/** Fixtures as loadFixtures returns them: checked, every default filled in. */
export interface ParsedFixtures extends Fixtures {
  products: ParsedProductFixture[];
  accounts: ParsedAccountFixture[];
}
