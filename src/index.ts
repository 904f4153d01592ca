// ecom9-gate: gate routes on ecom9 billing state and meter their use. This entry holds the
// framework-free core; adapters live at ecom9-gate/express, /koa and /fastify.
export { createGate, type Gate } from './gate/create-gate';
export type {
  GateOptions,
  GateCacheOptions,
  GateCreditsOptions,
  GateHealthOptions,
  GateIdempotencyOptions,
  GateUsageOptions,
  GateWebhookOptions,
} from './gate/gate-options';
export { closeOnSignals, type CloseOnSignalsOptions, type Closable } from './gate/close-on-signals';
export type {
  InvalidationBus,
  BusSubscriber,
  Logger,
  FactStore,
  HoldLedgerOptions,
  IdempotencyStoreOptions,
  StatsCounter,
  StoreAttachment,
  StoredFact,
  StoreLoadOptions,
} from './gate/public-options';
export { OPTION_DEFAULTS } from './shared/defaults';
export {
  allow,
  deny,
  toProblem,
  problemHeaders,
  PROBLEM_CONTENT_TYPE,
  PROBLEM_TYPE_BASE,
  problemOf,
  type Decision,
  type AllowedDecision,
  type DeniedDecision,
  type DecisionFacts,
  type DecisionCode,
  type DecisionSource,
  type DenialCode,
  type Problem,
} from './gate/decision';
export type { TierCheckOptions } from './gate/tier-rule';
// What every adapter's options and middlewares are made of (each adapter subpath re-exports them).
export type { AdapterOptions } from './middleware/adapter-options';
export type { AccountResolver, ChargeOptions, Ecom9State } from './middleware/guards';
export type { MeterOptions } from './middleware/meter';
export type { ReserveRouteOptions } from './middleware/reserve';
export type {
  ChargeCreditsOptions,
  GateMiddlewares,
  RequireEntitlementOptions,
  RequireTierOptions,
  ReserveCreditsOptions,
  ResolverErrorPolicy,
  RouteOptions,
} from './middleware/builder';
export type { AccountRoutesOptions } from './middleware/account-routes';
export type { WebhookRouterOptions } from './middleware/webhook-route';
export type { EntitlementCheckOptions, FailMode, PreparedCheck } from './gate/access';
export type { DebitInput, CreditDecision } from './gate/credits';
export type { UsageInput } from './usage/recorder';
export type { ReserveOptions, Reservation, OpenHold } from './gate/holds';
export type { Hold, HoldSettlement } from './gate/hold';
export type { HoldLedger, HoldScope, ReserveAsk, ReserveAnswer } from './gate/hold-ledger';
export { CHANNELS, type CounterName, type GateStats } from './shared/stats';
export type { GateHealth, ComponentState } from './gate/health';
export type { DecisionEvent, DecisionKind, WebhookOutcome, WebhookOutcomeEvent } from './gate/events';
export type { UpstreamAttempt } from './client/diagnostics';
export type { EndpointName } from './shared/endpoints';
export {
  MAX_WEBHOOK_BYTES,
  type WebhookInput,
  type WebhookResult,
  type WebhookHandler,
  type WebhookPayload,
  type WebhookVerifier,
  type WebhookHeaders,
} from './webhooks/handler';
export type { ReplayGuard } from './webhooks/replay';
export type { IdempotencyClaim, IdempotencyStore, KeptResponse } from './idempotency/store';
export { signWebhook, webhookHeaders } from './webhooks/signature';
export * from './client';
export {
  AbortedError,
  ArgumentError,
  BusUnavailableError,
  StoreUnavailableError,
  CallbackError,
  HoldChargeError,
  HoldClosedError,
  HoldLedgerUnavailableError,
  type HoldRef,
  ClientStateError,
  MisconfigurationError,
  OptionsError,
  UnknownNameError,
  UpstreamUnreachableError,
  UsageDeliveryError,
  UsageSpoolError,
  WebhookMountError,
  type UnknownNameDetails,
  type UnknownNameKind,
  type UsageEventRef,
} from './shared/errors';
