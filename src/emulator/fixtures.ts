// The emulator's starting data: a zod-checked fixtures format (its types, written out, in
// fixture-types.ts), loadable from an object or a JSON file, and the demo data the examples and
// `npm start` use. Every object is strict: an unknown key is named, with the nearest known one, rather
// than silently ignored.
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { OptionsError } from '../shared/errors';
import type { Expect, SameShape } from '../shared/same-shape';
import { describeFieldIssues, fieldIssues } from './zod-issues';
import type {
  AccountFixture,
  CreditFixture,
  EntitlementFixture,
  Fixtures,
  ParsedAccountFixture,
  ParsedFixtures,
  ParsedProductFixture,
  ParsedSubscriptionFixture,
  ParsedTierFixture,
  ProductFixture,
  SubState,
  SubscriptionFixture,
  TierFixture,
  UsageModel,
} from './fixture-types';

export const SUB_STATES = ['active', 'past_due', 'incomplete', 'canceled'] as const satisfies readonly SubState[];

export const USAGE_MODELS = [
  'prepaid_credits',
  'metered_postpaid',
  'included_overage',
  'tiered_usage',
  'volume_usage',
] as const satisfies readonly UsageModel[];

const tierFixture = z.strictObject({
  label_name: z.string().min(1),
  name: z.string(),
  description: z.string().default(''),
  price: z.string().default('0.00'),
  billing_cycle: z.string().default('monthly'),
  features: z.string().default(''),
  is_popular: z.boolean().default(false),
});

const productFixture = z.strictObject({
  manage_id: z.string().min(1),
  label_name: z.string().min(1),
  type: z.enum(['single', 'subscription']),
  saas_only: z.boolean().default(false),
  usage_model: z.enum(USAGE_MODELS).optional(),
  meters: z.array(z.string().min(1)).default([]),
  entitlements: z.array(z.string().min(1)).default([]),
  tiers: z.array(tierFixture).default([]),
});

const subscriptionFixture = z.strictObject({ subscription: z.string(), tier: z.string(), state: z.enum(SUB_STATES).default('active') });
const entitlementFixture = z.strictObject({ product: z.string(), entitlement: z.string() });
const creditFixture = z.strictObject({ product: z.string(), meter: z.string(), balance: z.number().int().nonnegative() });

const accountFixture = z.strictObject({
  account_ref_id: z.string().min(1),
  customer_email: z.string().default(''),
  subscriptions: z.array(subscriptionFixture).default([]),
  entitlements: z.array(entitlementFixture).default([]),
  credits: z.array(creditFixture).default([]),
  transactions: z.number().int().nonnegative().default(0),
});

const fixturesSchema = z.strictObject({
  apiKey: z.string().min(1).optional(),
  webhookSecret: z.string().min(1).optional(),
  products: z.array(productFixture).default([]),
  accounts: z.array(accountFixture).default([]),
});

// The published interfaces (fixture-types.ts) and the schema agree, as written and as parsed: a field
// added to one and not the other, or a default added or dropped, fails to compile.
type In<S extends z.ZodType> = z.input<S>;
type Out<S extends z.ZodType> = z.output<S>;
type _States = Expect<SameShape<SubState, (typeof SUB_STATES)[number]>>;
type _Models = Expect<SameShape<UsageModel, (typeof USAGE_MODELS)[number]>>;
type _Written = [
  Expect<SameShape<TierFixture, In<typeof tierFixture>>>,
  Expect<SameShape<ProductFixture, In<typeof productFixture>>>,
  Expect<SameShape<SubscriptionFixture, In<typeof subscriptionFixture>>>,
  Expect<SameShape<EntitlementFixture, In<typeof entitlementFixture>>>,
  Expect<SameShape<CreditFixture, In<typeof creditFixture>>>,
  Expect<SameShape<AccountFixture, In<typeof accountFixture>>>,
  Expect<SameShape<Fixtures, In<typeof fixturesSchema>>>,
];
type _Parsed = [
  Expect<SameShape<ParsedTierFixture, Out<typeof tierFixture>>>,
  Expect<SameShape<ParsedProductFixture, Out<typeof productFixture>>>,
  Expect<SameShape<ParsedSubscriptionFixture, Out<typeof subscriptionFixture>>>,
  Expect<SameShape<ParsedAccountFixture, Out<typeof accountFixture>>>,
  Expect<SameShape<ParsedFixtures, Out<typeof fixturesSchema>>>,
];

export function loadFixtures(source: Fixtures | string): ParsedFixtures {
  const raw: unknown = typeof source === 'string' ? readJson(source) : source;
  const parsed = fixturesSchema.safeParse(raw);
  if (parsed.success) return parsed.data;
  const from = typeof source === 'string' ? ` in ${source}` : '';
  throw new OptionsError(`ecom9-gate: emulator: invalid fixtures${from}: ${describeFieldIssues(fieldIssues(fixturesSchema, parsed.error))}`);
}

function readJson(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new OptionsError(`ecom9-gate: emulator: cannot read the fixtures file ${file}: ${(err as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new OptionsError(`ecom9-gate: emulator: the fixtures file ${file} is not JSON: ${(err as Error).message}`);
  }
}

const studioTiers = [
  { label_name: 'starter', name: 'Studio Starter', description: 'For trying things out', price: '0.00', features: 'Reports, 1 seat' },
  { label_name: 'pro', name: 'Studio Pro', description: 'For growing teams', price: '29.00', features: 'Reports, exports, 10 seats', is_popular: true },
  {
    label_name: 'enterprise',
    name: 'Studio Enterprise',
    description: 'For large organisations',
    price: '299.00',
    features: 'Everything, SSO, unlimited seats',
  },
];

/** The demo world: a subscription with three tiers, an API product, prepaid image credits, metered API calls. */
export const demoFixtures: Fixtures = {
  products: [
    { manage_id: 'P6ZmR29aTyQb', label_name: 'studio-suite', type: 'subscription', saas_only: true, tiers: studioTiers },
    {
      manage_id: 'A1pIpr0dKey0',
      label_name: 'pro-api',
      type: 'subscription',
      saas_only: true,
      entitlements: ['api_access', 'bulk_export'],
      tiers: [{ label_name: 'pro', name: 'API Pro', price: '49.00' }],
    },
    { manage_id: 'AIm4g3sCr3d1', label_name: 'ai-images', type: 'single', usage_model: 'prepaid_credits', meters: ['credits'] },
    { manage_id: 'ApiC4llsM3tr', label_name: 'api-access', type: 'single', usage_model: 'metered_postpaid', meters: ['api_calls'] },
    { manage_id: 'Onb0ard1ng00', label_name: 'onboarding', type: 'single', saas_only: true },
  ],
  accounts: [
    {
      account_ref_id: 'acme',
      customer_email: 'ops@acme.example',
      subscriptions: [{ subscription: 'studio-suite', tier: 'pro' }],
      entitlements: [{ product: 'pro-api', entitlement: 'api_access' }],
      credits: [{ product: 'ai-images', meter: 'credits', balance: 100 }],
      transactions: 3,
    },
    {
      account_ref_id: 'globex',
      customer_email: 'billing@globex.example',
      subscriptions: [{ subscription: 'studio-suite', tier: 'starter' }],
      credits: [{ product: 'ai-images', meter: 'credits', balance: 3 }],
      transactions: 1,
    },
    {
      account_ref_id: 'initech',
      customer_email: 'finance@initech.example',
      subscriptions: [{ subscription: 'studio-suite', tier: 'pro', state: 'past_due' }],
    },
  ],
};
