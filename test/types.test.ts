// Type-level checks (run by `npm run typecheck`, which covers test/): what a handler reads is typed by
// module augmentation, with no casts.
import { expectTypeOf, it } from 'vitest';
import type { Request, RequestHandler } from 'express';
import type { Context } from 'koa';
import type { FastifyRequest } from 'fastify';
import type { Decision, DecisionSource, DenialCode, Gate } from 'ecom9-gate';
import type {} from 'ecom9-gate/express';
import type {} from 'ecom9-gate/koa';
import type { FastifyDeniedHandler } from 'ecom9-gate/fastify';
import type { Ecom9State } from 'ecom9-gate/express';
import { RequireTier } from 'ecom9-gate/nest';
import type {
  ChargeCreditsOptions,
  ExpressGate,
  ExpressGateOptions,
  AccountRoutesOptions as ExpressAccountRoutesOptions,
  WebhookRouterOptions as ExpressWebhookRouterOptions,
  Gate as ExpressCoreGate,
  MeterOptions,
  RequireEntitlementOptions,
  RequireTierOptions,
  ExpressDeniedHandler,
  DeniedDecision,
  AllowedDecision,
} from 'ecom9-gate/express';
import { expressGate } from 'ecom9-gate/express';
import { koaGate, type KoaDeniedHandler, type KoaGate, type KoaGateOptions, type KoaWebhookRouterOptions } from 'ecom9-gate/koa';
import type { AccountRoutesPluginOptions, FastifyEcom9, FastifyGateOptions } from 'ecom9-gate/fastify';
import type { FastifyReply } from 'fastify';
import { honoGate, type HonoDeniedHandler, type HonoGate, type HonoGateMiddleware, type HonoGateOptions } from 'ecom9-gate/hono';
import { fetchGate, type FetchDeniedHandler, type FetchGate, type FetchGateOptions, type FetchGuard, type FetchHandler } from 'ecom9-gate/fetch';
import type {
  Ecom9AsyncOptions,
  Ecom9ForRootOptions,
  Ecom9ModuleOptions,
  Ecom9RouteOptions,
  NestDeniedHandler,
  Ecom9State as NestEcom9State,
} from 'ecom9-gate/nest';
import type { RedisBus, RedisBusOptions, RedisStore, RedisStoreOptions, FactStore } from 'ecom9-gate/redis';
import type { InstrumentOptions, StopInstrumenting, Gate as OtelGate } from 'ecom9-gate/otel';
import type { TestGate, TestGateOptions, Emulator as TestingEmulator } from 'ecom9-gate/testing';
import type { EmulatorOptions } from 'ecom9-gate/emulator';
import { Hono, type Context as HonoContext, type MiddlewareHandler } from 'hono';
import type { Middleware } from 'koa';
import type { Response as ExpressResponse } from 'express';
// Each subpath's types as a namespace, for the by-name checks at the end.
import type * as CoreApi from 'ecom9-gate';
import type * as ExpressApi from 'ecom9-gate/express';
import type * as KoaApi from 'ecom9-gate/koa';
import type * as FastifyApi from 'ecom9-gate/fastify';
import type * as HonoApi from 'ecom9-gate/hono';
import type * as FetchApi from 'ecom9-gate/fetch';
import type * as NestApi from 'ecom9-gate/nest';
import type * as RedisApi from 'ecom9-gate/redis';
import type * as OtelApi from 'ecom9-gate/otel';
import type * as TestingApi from 'ecom9-gate/testing';
import type * as EmulatorApi from 'ecom9-gate/emulator';
import type * as ReactApi from 'ecom9-gate/react';
import type * as AiApi from 'ecom9-gate/ai';
import type * as McpApi from 'ecom9-gate/mcp';

it('types req.ecom9, ctx.state.ecom9 and request.ecom9 as an ungated route has them: maybe absent', () => {
  expectTypeOf<Request['ecom9']>().toEqualTypeOf<Ecom9State | undefined>();
  expectTypeOf<NonNullable<Request['ecom9']>['decision']>().toEqualTypeOf<Decision | undefined>();
  expectTypeOf<Context['state']['ecom9']>().toEqualTypeOf<Ecom9State | undefined>();
  expectTypeOf<FastifyRequest['ecom9']>().toEqualTypeOf<Ecom9State | null>();
  expectTypeOf<NonNullable<FastifyRequest['ecom9']>['credits']>().toEqualTypeOf<
    { debited: number; remainingBalance: number | undefined; eventKey: string } | undefined
  >();
  expectTypeOf<Decision['source']>().toEqualTypeOf<DecisionSource>();
  expectTypeOf<Gate['checkTier']>().returns.resolves.toEqualTypeOf<Decision>();
});

it("gives Fastify's onDenied a next, as Express and Koa have, and names the invalid_quantity code", () => {
  expectTypeOf<Parameters<FastifyDeniedHandler>[3]>().toEqualTypeOf<(err?: Error) => void>();
  expectTypeOf<'invalid_quantity'>().toExtend<DenialCode>();
});

it('reads the state of a gated route as present, through gated(req), on every adapter', () => {
  expectTypeOf<ExpressGate['gated']>().returns.toEqualTypeOf<Ecom9State>();
  expectTypeOf<KoaGate['gated']>().returns.toEqualTypeOf<Ecom9State>();
  expectTypeOf<FastifyEcom9['gated']>().returns.toEqualTypeOf<Ecom9State>();
  expectTypeOf<HonoGate['gated']>().returns.toEqualTypeOf<Ecom9State>();
  expectTypeOf<FetchGate['gated']>().returns.toEqualTypeOf<Ecom9State>();
});

it('accepts requireTier(undefined, { atLeast }) as documented, and nothing else without tiers', () => {
  const e = {} as ExpressGate;
  expectTypeOf(e.requireTier(undefined, { atLeast: 'pro' })).toEqualTypeOf<RequestHandler>();
  // @ts-expect-error: without tiers, atLeast is required
  e.requireTier(undefined, { subscription: 'studio-suite' });
  // @ts-expect-error: without tiers, options are required
  e.requireTier(undefined);
  const k = {} as KoaGate;
  expectTypeOf(k.requireTier(undefined, { atLeast: 'pro', subscription: 'studio-suite' })).toEqualTypeOf<ReturnType<KoaGate['meterUsage']>>();
  expectTypeOf(RequireTier(undefined, { atLeast: 'pro' })).toExtend<MethodDecorator>();
  // @ts-expect-error: a misspelt option is a type error too (and an OptionsError at run time)
  e.requireTier('pro', { subscripton: 'studio-suite' });
});

// The web's Request and Response (express's Request is imported above).
type WebRequest = globalThis.Request;
type WebResponse = globalThis.Response;

it('names every adapter return type: the factories return the named interfaces', () => {
  expectTypeOf(expressGate).returns.toEqualTypeOf<ExpressGate>();
  expectTypeOf(koaGate).returns.toEqualTypeOf<KoaGate>();
  expectTypeOf(honoGate).returns.toEqualTypeOf<HonoGate>();
  expectTypeOf(fetchGate).returns.toEqualTypeOf<FetchGate>();
  expectTypeOf(expressGate).parameter(1).toEqualTypeOf<ExpressGateOptions>();
  expectTypeOf(koaGate).parameter(1).toEqualTypeOf<KoaGateOptions>();
  expectTypeOf(honoGate).parameter(1).toEqualTypeOf<HonoGateOptions>();
  expectTypeOf(fetchGate).parameter(1).toEqualTypeOf<FetchGateOptions>();
  expectTypeOf<ExpressCoreGate>().toEqualTypeOf<Gate>();
  expectTypeOf<OtelGate>().toEqualTypeOf<Gate>();
});

it('names every middleware option type, per adapter', () => {
  expectTypeOf<ExpressGate['requireTier']>().toBeCallableWith('pro', {} as RequireTierOptions<ExpressDeniedHandler>);
  expectTypeOf<ExpressGate['requireEntitlement']>().parameter(2).toEqualTypeOf<RequireEntitlementOptions<ExpressDeniedHandler> | undefined>();
  expectTypeOf<ExpressGate['chargeCredits']>().parameter(0).toEqualTypeOf<ChargeCreditsOptions<Request, ExpressDeniedHandler>>();
  expectTypeOf<ExpressGate['meterUsage']>().parameter(0).toEqualTypeOf<MeterOptions<Request, ExpressResponse>>();
  expectTypeOf<ExpressGate['requireTier']>().returns.toEqualTypeOf<RequestHandler>();
  expectTypeOf<ExpressGate['accountRoutes']>().parameter(0).toEqualTypeOf<Omit<ExpressAccountRoutesOptions, 'prefix'> | undefined>();
  expectTypeOf<ExpressGate['webhookRouter']>().parameter(0).toEqualTypeOf<ExpressWebhookRouterOptions | undefined>();
  expectTypeOf<KoaGate['requireTier']>().returns.toEqualTypeOf<Middleware>();
  expectTypeOf<KoaGate['chargeCredits']>().parameter(0).toEqualTypeOf<ChargeCreditsOptions<Context, KoaDeniedHandler>>();
  expectTypeOf<KoaGate['webhookRouter']>().parameter(0).toEqualTypeOf<KoaWebhookRouterOptions>();
  expectTypeOf<FastifyEcom9['meterUsage']>().parameter(0).toEqualTypeOf<MeterOptions<FastifyRequest, FastifyReply>>();
  expectTypeOf<FastifyGateOptions>().toExtend<AccountRoutesPluginOptions>();
  expectTypeOf<ReturnType<HonoGate['meterUsage']>>().toEqualTypeOf<HonoGateMiddleware>();
  expectTypeOf<HonoGateMiddleware>().toExtend<MiddlewareHandler>();
  expectTypeOf<HonoGate['chargeCredits']>().parameter(0).toEqualTypeOf<ChargeCreditsOptions<HonoContext, HonoDeniedHandler>>();
  expectTypeOf<FetchGate['requireTier']>().returns.toEqualTypeOf<FetchGuard>();
  expectTypeOf<FetchGate['chargeCredits']>().parameter(0).toEqualTypeOf<ChargeCreditsOptions<WebRequest, FetchDeniedHandler>>();
  expectTypeOf<FetchHandler>().toEqualTypeOf<(req: WebRequest, ...rest: unknown[]) => WebResponse | Promise<WebResponse>>();
  expectTypeOf<Ecom9ForRootOptions>().toExtend<Ecom9ModuleOptions & Ecom9RouteOptions>();
  expectTypeOf<Ecom9AsyncOptions>().toExtend<Ecom9RouteOptions>();
  expectTypeOf<Parameters<NestDeniedHandler>[0]>().toEqualTypeOf<DeniedDecision>();
  expectTypeOf<NestEcom9State['decision']>().toEqualTypeOf<Decision | undefined>();
  expectTypeOf<RedisBusOptions>().not.toBeAny();
  expectTypeOf<RedisStoreOptions>().not.toBeAny();
  expectTypeOf<RedisStore>().toExtend<FactStore>();
  expectTypeOf<RedisBus['close']>().not.toBeAny();
  expectTypeOf<InstrumentOptions>().not.toBeAny();
  expectTypeOf<StopInstrumenting>().toEqualTypeOf<() => void>();
  expectTypeOf<TestGate['gate']>().toEqualTypeOf<Gate>();
  expectTypeOf<TestGate['emulator']>().toEqualTypeOf<TestingEmulator>();
  expectTypeOf<TestGateOptions>().not.toBeAny();
  expectTypeOf<EmulatorOptions>().not.toBeAny();
});

it('gives one resolver policy option on every adapter, and a Decision that narrows on allowed', () => {
  expectTypeOf<ExpressGateOptions['resolverError']>().toEqualTypeOf<'deny' | 'throw' | undefined>();
  expectTypeOf<FetchGateOptions['resolverError']>().toEqualTypeOf<'deny' | 'throw' | undefined>();
  expectTypeOf<Ecom9ModuleOptions['resolverError']>().toEqualTypeOf<'deny' | 'throw' | undefined>();
  expectTypeOf<Decision>().toEqualTypeOf<AllowedDecision | DeniedDecision>();
  expectTypeOf<Extract<Decision, { allowed: false }>['code']>().toEqualTypeOf<DenialCode>();
  expectTypeOf<Extract<Decision, { allowed: true }>['code']>().toEqualTypeOf<'allowed' | 'upstream_unavailable'>();
  expectTypeOf<Parameters<ExpressDeniedHandler>[2]>().toEqualTypeOf<DeniedDecision>();
  expectTypeOf<Parameters<KoaDeniedHandler>[1]>().toEqualTypeOf<DeniedDecision>();
});

// The wrapped handler keeps the handler's parameters (a Next.js route's second argument), and Hono's
// c.get('ecom9') is typed by the adapter's ContextVariableMap.
it('keeps the types a route file and a Hono handler rely on', () => {
  const e = fetchGate({} as Gate, { accountRefId: (req) => req.headers.get('x-account') });
  const POST = e.requireTier('pro')(async (_req: WebRequest, ctx: { params: Promise<{ id: string }> }) => Response.json(await ctx.params));
  expectTypeOf(POST).parameters.toEqualTypeOf<[WebRequest, { params: Promise<{ id: string }> }]>();
  expectTypeOf(POST).returns.toEqualTypeOf<WebResponse | Promise<WebResponse>>();
  // On a plain Context (no ecom9 middleware in its Env) the state may be absent.
  const handler = (c: HonoContext) => c.get('ecom9');
  expectTypeOf(handler).returns.toEqualTypeOf<NestEcom9State | undefined>();
  // A handler registered with an ecom9 middleware has it.
  const h = honoGate({} as Gate, { accountRefId: (c) => c.req.header('x-account') });
  new Hono().get('/gated', h.requireTier('pro'), (c) => {
    expectTypeOf(c.get('ecom9')).toEqualTypeOf<NestEcom9State>();
    return c.json(c.get('ecom9').decision);
  });
});

// Every public option type and return type, by name, from each subpath (issue: every public type
// nameable). A name a subpath stops exporting fails to compile; a name that resolves to nothing would be
// `any`, hence `AnyAt`. test/surface.test.ts compiles this file against the built .d.ts too, and checks
// that the subpaths re-exporting the core types (src/types.ts) name every one of them.
type AnyAt<T extends readonly unknown[]> = { [K in keyof T]: 0 extends 1 & T[K] ? K : never }[number];
type R = unknown; // a request or response type parameter, for the generic option types
type D = unknown; // an onDenied handler type parameter

it('names every public option and return type from ecom9-gate', () => {
  expectTypeOf<
    AnyAt<
      [
        CoreApi.GateOptions,
        CoreApi.GateCacheOptions,
        CoreApi.GateCreditsOptions,
        CoreApi.GateHealthOptions,
        CoreApi.GateIdempotencyOptions,
        CoreApi.GateUsageOptions,
        CoreApi.GateWebhookOptions,
        CoreApi.HttpOptions,
        CoreApi.ClientOptions,
        CoreApi.CallOptions,
        CoreApi.CloseOnSignalsOptions,
        CoreApi.Closable,
        CoreApi.Gate,
        CoreApi.Ecom9Client,
        CoreApi.TierCheckOptions,
        CoreApi.EntitlementCheckOptions,
        CoreApi.PreparedCheck,
        CoreApi.Decision,
        CoreApi.AllowedDecision,
        CoreApi.DeniedDecision,
        CoreApi.DecisionFacts,
        CoreApi.CreditDecision,
        CoreApi.DebitInput,
        CoreApi.ReserveOptions,
        CoreApi.Reservation,
        CoreApi.Hold,
        CoreApi.HoldSettlement,
        CoreApi.OpenHold,
        CoreApi.UsageInput,
        CoreApi.GateHealth,
        CoreApi.GateStats,
        CoreApi.WebhookInput,
        CoreApi.WebhookResult,
        CoreApi.WebhookHandler,
        CoreApi.WebhookVerifier,
        CoreApi.Problem,
        CoreApi.AdapterOptions<R, D>,
        CoreApi.AccountResolver<R>,
        CoreApi.RouteOptions<D>,
        CoreApi.RequireTierOptions<D>,
        CoreApi.RequireEntitlementOptions<D>,
        CoreApi.ChargeOptions<R>,
        CoreApi.ChargeCreditsOptions<R, D>,
        CoreApi.MeterOptions<R, R>,
        CoreApi.ReserveRouteOptions<R>,
        CoreApi.ReserveCreditsOptions<R, D>,
        CoreApi.AccountRoutesOptions,
        CoreApi.WebhookRouterOptions,
        CoreApi.GateMiddlewares<R, R, D, R>,
        CoreApi.Ecom9State,
        CoreApi.FactStore,
        CoreApi.StoreAttachment,
        CoreApi.StoreLoadOptions,
        CoreApi.StoredFact,
        CoreApi.HoldLedger,
        CoreApi.HoldLedgerOptions,
        CoreApi.IdempotencyStore,
        CoreApi.IdempotencyStoreOptions,
        CoreApi.InvalidationBus,
        CoreApi.BusSubscriber,
        CoreApi.Logger,
        CoreApi.ReplayGuard,
        CoreApi.AccountStatusParams,
        CoreApi.CreditBalanceParams,
        CoreApi.EntitlementCheckParams,
        CoreApi.FixSubscriptionParams,
        CoreApi.InvoiceCreateParams,
        CoreApi.ResolvePublicUrlParams,
        CoreApi.TiersIterateParams,
        CoreApi.TiersListParams,
        CoreApi.TransactionsIterateParams,
        CoreApi.TransactionsListParams,
        CoreApi.UsageEventInput,
        CoreApi.UsageSummaryParams,
        CoreApi.AccountStatus,
        CoreApi.CreditBalance,
        CoreApi.DebitResult,
        CoreApi.EntitlementCheck,
        CoreApi.Invoice,
        CoreApi.Page<R>,
        CoreApi.Product,
        CoreApi.Tier,
        CoreApi.Transaction,
        CoreApi.UsageRecordResult,
        CoreApi.UsageSummary,
        CoreApi.Ecom9ErrorInit,
        CoreApi.UnknownNameDetails,
      ]
    >
  >().toBeNever();
});

it('names every adapter option and return type from its subpath, with the core types', () => {
  expectTypeOf<
    AnyAt<
      [
        ExpressApi.ExpressGateOptions,
        ExpressApi.ExpressGate,
        ExpressApi.ExpressDeniedHandler,
        ExpressApi.Ecom9State,
        ExpressApi.RequireTierOptions<ExpressApi.ExpressDeniedHandler>,
        ExpressApi.ReserveCreditsOptions<Request, ExpressApi.ExpressDeniedHandler>,
        ExpressApi.GateOptions,
        KoaApi.KoaGateOptions,
        KoaApi.KoaGate,
        KoaApi.KoaDeniedHandler,
        KoaApi.KoaWebhookRouterOptions,
        KoaApi.Ecom9State,
        KoaApi.ChargeCreditsOptions<Context, KoaApi.KoaDeniedHandler>,
        KoaApi.GateOptions,
        FastifyApi.FastifyGateOptions,
        FastifyApi.FastifyEcom9,
        FastifyApi.FastifyDeniedHandler,
        FastifyApi.AccountRoutesPluginOptions,
        FastifyApi.Ecom9State,
        FastifyApi.MeterOptions<FastifyRequest, FastifyReply>,
        FastifyApi.GateOptions,
        HonoApi.HonoGateOptions,
        HonoApi.HonoGate,
        HonoApi.HonoDeniedHandler,
        HonoApi.HonoGateMiddleware,
        HonoApi.Ecom9State,
        HonoApi.AccountRoutesOptions,
        HonoApi.GateOptions,
        FetchApi.FetchGateOptions,
        FetchApi.FetchGate,
        FetchApi.FetchDeniedHandler,
        FetchApi.FetchGuard,
        FetchApi.FetchHandler,
        FetchApi.Ecom9State,
        FetchApi.WebhookRouterOptions,
        FetchApi.GateOptions,
        NestApi.Ecom9ModuleOptions,
        NestApi.Ecom9ForRootOptions,
        NestApi.Ecom9AsyncOptions,
        NestApi.Ecom9RouteOptions,
        NestApi.NestDeniedHandler,
        NestApi.Ecom9State,
        NestApi.ReserveRouteOptions<R>,
        NestApi.GateOptions,
      ]
    >
  >().toBeNever();
});

it('names every option and return type of the other subpaths', () => {
  expectTypeOf<
    AnyAt<
      [
        RedisApi.RedisBusOptions,
        RedisApi.RedisBus,
        RedisApi.RedisStoreOptions,
        RedisApi.RedisStore,
        RedisApi.FactStore,
        RedisApi.HoldLedger,
        RedisApi.IdempotencyStore,
        OtelApi.InstrumentOptions,
        OtelApi.StopInstrumenting,
        OtelApi.Gate,
        TestingApi.TestGateOptions,
        TestingApi.TestGate,
        TestingApi.Emulator,
        TestingApi.Fixtures,
        TestingApi.LedgerRow,
        TestingApi.OpenHold,
        TestingApi.GateOptions,
        EmulatorApi.EmulatorOptions,
        EmulatorApi.Emulator,
        EmulatorApi.EmulatorAccountUpdate,
        EmulatorApi.EmulatorSubscription,
        EmulatorApi.BuiltWebhook,
        EmulatorApi.WebhookReply,
        EmulatorApi.WebhookPayloadInput,
        EmulatorApi.WebhookSendOptions,
        EmulatorApi.FaultSpec,
        EmulatorApi.CallRecord,
        EmulatorApi.LedgerRow,
        EmulatorApi.UsageRow,
        EmulatorApi.Delivery,
        EmulatorApi.EndpointName,
        EmulatorApi.Fixtures,
        EmulatorApi.ParsedFixtures,
        EmulatorApi.TierFixture,
        EmulatorApi.ProductFixture,
        EmulatorApi.AccountFixture,
        EmulatorApi.SubscriptionFixture,
        EmulatorApi.EntitlementFixture,
        EmulatorApi.CreditFixture,
        EmulatorApi.ParsedTierFixture,
        EmulatorApi.ParsedProductFixture,
        EmulatorApi.ParsedAccountFixture,
        EmulatorApi.ParsedSubscriptionFixture,
        EmulatorApi.SubState,
        EmulatorApi.UsageModel,
        ReactApi.Ecom9ProviderProps,
        ReactApi.Ecom9Connection,
        ReactApi.EventSourceLike,
        ReactApi.Ecom9QueryOptions<R>,
        ReactApi.Result<R>,
        ReactApi.AccountRefParams,
        ReactApi.AccountStatusParams,
        ReactApi.TransactionsParams,
        ReactApi.TiersParams,
        ReactApi.PublicUrlParams,
        ReactApi.FixSubscriptionParams,
        ReactApi.EntitlementParams,
        ReactApi.CreditsParams,
        ReactApi.UsageSummaryParams,
        ReactApi.RouteParams,
        ReactApi.RequireTierProps,
        ReactApi.RequireEntitlementProps,
        ReactApi.PricingTableProps,
        ReactApi.PricingLabels,
        ReactApi.UpgradeButtonProps,
        ReactApi.CreditsBalanceProps,
        ReactApi.FixSubscriptionBannerProps,
        ReactApi.AccountStatus,
        ReactApi.Subscription,
        AiApi.CreditsMiddlewareOptions,
        AiApi.AiCallParams,
        AiApi.AiSettlement,
        AiApi.AiCallOutcome,
        AiApi.AiUsage,
        AiApi.PriceFn,
        AiApi.DeniedProblem,
        AiApi.Gate,
        AiApi.Reservation,
        McpApi.McpGateOptions,
        McpApi.McpGate,
        McpApi.McpChargeOptions,
        McpApi.McpReserveOptions,
        McpApi.ToolGuard,
        McpApi.ToolExtra,
        McpApi.GatedToolExtra,
        McpApi.ToolReturn,
        McpApi.McpEcom9State,
        McpApi.ConnectionIdFn,
        McpApi.Gate,
        McpApi.Hold,
      ]
    >
  >().toBeNever();
});
