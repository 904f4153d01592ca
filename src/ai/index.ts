// ecom9-gate/ai: prepaid credits for the Vercel AI SDK (`ai`, an optional peer, loaded by the app:
// this subpath only names its types). See docs/ai.md.
export { creditsMiddleware } from './middleware';
export type { CreditsMiddlewareOptions, AiCallParams } from './options';
export type { AiSettlement, AiCallOutcome, PriceFn } from './call-charge';
export { CHARS_PER_TOKEN, type AiUsage } from './usage';
export { Ecom9Error, CreditsDeniedError, InsufficientCreditsError, type DeniedProblem } from '../shared/errors';
// Every core type (src/types.ts), so a type this subpath's signatures name (and what those name in
// turn) is imported from here as from ecom9-gate.
export type * from '../types';
