// ecom9-gate: gate routes on ecom9 billing state and meter their use. This entry holds the
// framework-free core; adapters live at ecom9-gate/express, /koa and /fastify.
export { createGate, type Gate } from './gate/create-gate';
export type { GateOptions, InvalidationBus, BusSubscriber, Logger, FactStore, StoreAttachment, StoredFact } from './gate/public-options';
export {
  allow,
  deny,
  toProblem,
  problemHeaders,
  PROBLEM_CONTENT_TYPE,
  PROBLEM_TYPE_BASE,
  type Decision,
  type DecisionCode,
  type DecisionSource,
  type DenialCode,
  type Problem,
} from './gate/decision';
export type { TierCheckOptions } from './gate/tier-rule';
export type { EntitlementCheckOptions, FailMode, PreparedCheck } from './gate/access';
export type { DebitInput, CreditDecision } from './gate/credits';
export type { UsageInput } from './usage/recorder';
export { UsageDeliveryError } from './usage/recorder';
export { CHANNELS, type GateStats } from './gate/stats';
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
export { WebhookMountError } from './middleware/webhook-route';
export { signWebhook, webhookHeaders } from './webhooks/signature';
export * from './client';
