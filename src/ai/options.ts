// creditsMiddleware's options, checked once when the middleware is made: a mistake throws
// OptionsError naming the option (never echoing a value), not at the first model call.
import { z } from 'zod';
import { describeIssues } from '../shared/describe-issues';
import { OptionsError } from '../shared/errors';
import { isCode, isQuantity } from '../shared/rules';
import type { AiSettlement, PriceFn } from './call-charge';

/** The parameters of one model call, as the AI SDK hands them to a middleware. */
export type AiCallParams = Parameters<NonNullable<import('ai').LanguageModelMiddleware['wrapStream']>>[0]['params'];

export interface CreditsMiddlewareOptions {
  /** The ecom9 account to charge, or a function of the call's params (may be async). */
  accountRefId: string | ((params: AiCallParams) => string | undefined | Promise<string | undefined>);
  /** The prepaid-credits product and meter, e.g. 'ai-chat' and 'credits'. */
  product: string;
  meter: string;
  /**
   * Credits for a call's usage (plain numbers; 0 where nothing is known). Rounded up, capped at the
   * reserve, and at least 1 once output was delivered.
   * @example ({ inputTokens, outputTokens }) => Math.ceil(inputTokens / 1000) + Math.ceil(outputTokens / 250)
   */
  price: PriceFn;
  /**
   * The most one call may cost, held before the model is called: a positive integer, or a function
   * of the call's params (e.g. of its `maxOutputTokens`).
   */
  reserve: number | ((params: AiCallParams) => number);
  /**
   * The hold's key for a call (its debit's event_key derives from it), e.g. your request id, so a
   * call retried under the same key is charged once. It is joined with a hash of the call's prompt:
   * another call under the same key (the next step of a multi-step run) is charged on its own.
   * @default a fresh UUID per call
   */
  key?: (params: AiCallParams) => string | undefined;
  /** Put into InsufficientCreditsError (`topUpUrl`, `problem.top_up_url`), or a function of the account. */
  topUpUrl?: string | ((accountRefId: string) => string | undefined);
  /** Called once per model call when its charge is final (debited, or released). */
  onSettled?: (settlement: AiSettlement) => void;
}

const fn = z.custom<(...args: never[]) => unknown>((v) => typeof v === 'function', 'must be a function');
const schema = z.strictObject({
  accountRefId: z.union([z.string().min(1, 'must be a non-empty account ref'), fn], 'must be an account ref or a function'),
  product: z.string().refine(isCode, 'must be a non-empty product code'),
  meter: z.string().refine(isCode, 'must be a non-empty meter code'),
  price: fn,
  reserve: z.union([z.number().refine(isQuantity, 'must be a positive integer'), fn], 'must be a positive integer or a function'),
  key: fn.optional(),
  topUpUrl: z.union([z.string().min(1), fn]).optional(),
  onSettled: fn.optional(),
});

export function parseCreditsOptions(options: unknown): CreditsMiddlewareOptions {
  const r = schema.safeParse(options);
  if (!r.success) throw new OptionsError(`creditsMiddleware: ${describeIssues(r.error.issues)}`);
  return options as CreditsMiddlewareOptions;
}
