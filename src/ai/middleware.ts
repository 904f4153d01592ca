// creditsMiddleware: prepaid credits for the Vercel AI SDK. Each model call reserves its most
// (`reserve`) before the model runs, and is settled once for what it used: the provider's usage
// when it reports it, else what was delivered counted in tokens (see usage.ts).
import type { LanguageModelMiddleware } from 'ai';
import type { Gate } from '../gate/create-gate';
import { deny, toProblem, type Decision } from '../gate/decision';
import { ArgumentError, CreditsDeniedError, InsufficientCreditsError, OptionsError } from '../shared/errors';
import { isQuantity } from '../shared/rules';
import { CallCharge } from './call-charge';
import { meteredStream } from './metered-stream';
import { parseCreditsOptions, type AiCallParams, type CreditsMiddlewareOptions } from './options';
import { contentChars } from './usage';
import { sha256Base64url } from '../shared/hash';

/** A hash of a call's prompt; one that JSON cannot hold is never taken for another call's. */
function promptHash(prompt: unknown): string {
  let json: string | undefined;
  try {
    json = JSON.stringify(prompt);
  } catch {
    json = undefined;
  }
  return sha256Base64url(json ?? crypto.randomUUID());
}

/**
 * Middleware for `wrapLanguageModel` that charges each call in prepaid credits.
 * @example
 * const model = wrapLanguageModel({ model: base, middleware: creditsMiddleware(gate, {
 *   accountRefId: user.orgId, product: 'ai-chat', meter: 'credits', reserve: 200,
 *   price: ({ inputTokens, outputTokens }) => Math.ceil(inputTokens / 1000) + Math.ceil(outputTokens / 250),
 * }) });
 */
export function creditsMiddleware(gate: Gate, options: CreditsMiddlewareOptions): LanguageModelMiddleware {
  if (typeof (gate as Partial<Gate> | null | undefined)?.reserveCredits !== 'function') {
    throw new OptionsError('creditsMiddleware: "gate" must be a gate from createGate()');
  }
  const o = parseCreditsOptions(options);
  const report = (err: unknown): void => gate.reportError(err);
  const deps = { price: o.price, report, onSettled: o.onSettled };

  /** The hold for one call, or the error that stops it before the model is called. */
  const open = async (params: AiCallParams): Promise<{ charge: CallCharge }> => {
    const ref = typeof o.accountRefId === 'string' ? o.accountRefId : await o.accountRefId(params);
    if (typeof ref !== 'string' || ref === '') {
      throw new CreditsDeniedError('creditsMiddleware: the call names no account', { code: 'account_unresolved', status: 401 });
    }
    const reserve = typeof o.reserve === 'number' ? o.reserve : o.reserve(params);
    if (!isQuantity(reserve)) throw new ArgumentError('creditsMiddleware: "reserve" must give a positive integer');
    const given = o.key?.(params);
    // Bound to the call's prompt: the same call retried is one hold (charged once), while another
    // call under the same key (the next step of a multi-step run, another prompt under a reused
    // request id) is its own, never answered with the first call's debit.
    const key = given ? `${given}\u0000${promptHash(params.prompt)}` : undefined;
    const topUpUrl = typeof o.topUpUrl === 'function' ? o.topUpUrl(ref) : o.topUpUrl;
    const { decision, hold } = await gate.reserveCredits(ref, {
      product: o.product,
      meter: o.meter,
      quantity: reserve,
      ...(key ? { key } : {}),
      ...(topUpUrl ? { topUpUrl } : {}),
    });
    if (!hold) throw denied(decision);
    return { charge: new CallCharge(hold, ref, params.prompt, deps) };
  };

  const denied = (decision: Decision): CreditsDeniedError => {
    // No hold comes with a denial; an allowed decision without one is not expected, and is refused too.
    const problem = toProblem(decision.allowed ? deny('upstream_unavailable', decision.source, { detail: 'No hold was granted.' }) : decision);
    if (decision.code === 'insufficient_credits') {
      return new InsufficientCreditsError(`creditsMiddleware: ${problem.detail}`, problem);
    }
    return new CreditsDeniedError(`creditsMiddleware: ${problem.detail}`, problem);
  };

  return {
    specificationVersion: 'v4',
    async wrapGenerate({ doGenerate, params }) {
      const { charge } = await open(params);
      let result: Awaited<ReturnType<typeof doGenerate>>;
      try {
        result = await doGenerate();
      } catch (err) {
        await charge.end(params.abortSignal?.aborted ? 'aborted' : 'failed');
        throw err;
      }
      charge.deliver(contentChars(result.content));
      charge.reported(result.usage);
      await charge.end('finished');
      return result;
    },
    async wrapStream({ doStream, params }) {
      const { charge } = await open(params);
      let result: Awaited<ReturnType<typeof doStream>>;
      try {
        result = await doStream();
      } catch (err) {
        await charge.end(params.abortSignal?.aborted ? 'aborted' : 'failed');
        throw err;
      }
      return { ...result, stream: meteredStream(result.stream, charge, params.abortSignal) };
    },
  };
}
