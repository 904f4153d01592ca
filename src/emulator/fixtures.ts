// The emulator's starting data: a zod-checked fixtures format, loadable from an object or a JSON file,
// and the demo data the examples and `npm start` use. Every object is strict: a misspelt key is an
// OptionsError naming it and the nearest known key, not a field silently left at its default.
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { describeIssues } from '../shared/describe-issues';
import { OptionsError } from '../shared/errors';

export const SUB_STATES = ['active', 'past_due', 'incomplete', 'canceled'] as const;
export type SubState = (typeof SUB_STATES)[number];

export const USAGE_MODELS = ['prepaid_credits', 'metered_postpaid', 'included_overage', 'tiered_usage', 'volume_usage'] as const;

const tierFixture = z
  .object({
    label_name: z.string().min(1),
    name: z.string(),
    description: z.string().default(''),
    price: z.string().default('0.00'),
    billing_cycle: z.string().default('monthly'),
    features: z.string().default(''),
    is_popular: z.boolean().default(false),
  })
  .strict();

const productFixture = z
  .object({
    manage_id: z.string().min(1),
    label_name: z.string().min(1),
    type: z.enum(['single', 'subscription']),
    saas_only: z.boolean().default(false),
    usage_model: z.enum(USAGE_MODELS).optional(),
    meters: z.array(z.string().min(1)).default([]),
    entitlements: z.array(z.string().min(1)).default([]),
    tiers: z.array(tierFixture).default([]),
  })
  .strict();

const accountFixture = z
  .object({
    account_ref_id: z.string().min(1),
    customer_email: z.string().default(''),
    subscriptions: z.array(z.object({ subscription: z.string(), tier: z.string(), state: z.enum(SUB_STATES).default('active') }).strict()).default([]),
    entitlements: z.array(z.object({ product: z.string(), entitlement: z.string() }).strict()).default([]),
    credits: z.array(z.object({ product: z.string(), meter: z.string(), balance: z.number().int().nonnegative() }).strict()).default([]),
    transactions: z.number().int().nonnegative().default(0),
  })
  .strict();

export const fixturesSchema = z
  .object({
    /** The key the emulator accepts, unless createEmulator is given one. */
    apiKey: z.string().min(1).optional(),
    /** The secret it signs webhooks with, unless createEmulator is given one. */
    webhookSecret: z.string().min(1).optional(),
    products: z.array(productFixture).default([]),
    accounts: z.array(accountFixture).default([]),
  })
  .strict();

export type Fixtures = z.input<typeof fixturesSchema>;
export type ParsedFixtures = z.output<typeof fixturesSchema>;
export type ProductFixture = z.output<typeof productFixture>;

export function loadFixtures(source: Fixtures | string): ParsedFixtures {
  const raw: unknown = typeof source === 'string' ? JSON.parse(readFileSync(source, 'utf8')) : source;
  const parsed = fixturesSchema.safeParse(raw);
  if (parsed.success) return parsed.data;
  throw new OptionsError(`ecom9-gate: emulator: invalid fixtures: ${describeIssues(parsed.error.issues, fixturesSchema)}`);
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
