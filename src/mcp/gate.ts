// mcpGate: ecom9 guards for MCP tools (the TypeScript SDK's McpServer.registerTool callbacks). A
// denial is a tool result the model can read (isError, the problem+json in its text), never a
// protocol error. A paid call is charged once per session and request id: a second delivery of it
// gets the first one's answer (kept for REPLAY_TTL_MS) and ecom9 de-duplicates the debit by its key.
import { LRUCache } from 'lru-cache';
import { z } from 'zod';
import type { FailMode } from '../gate/access';
import type { Gate } from '../gate/create-gate';
import { deny, toProblem, type Decision, type DeniedDecision } from '../gate/decision';
import type { TierCheckOptions } from '../gate/tier-rule';
import { resolveAccount, type AccountResolver } from '../middleware/guards';
import { describeIssues } from '../shared/describe-issues';
import { OptionsError } from '../shared/errors';
import { isCode, isQuantity } from '../shared/rules';
import { connectionScope, requestKey, type ConnectionIdFn } from './request-key';
import type { CallToolResult, McpEcom9State, ToolExtra, ToolGuard } from './types';

export interface McpGateOptions {
  /** The ecom9 account of a tool call, from its `extra` (e.g. `extra.authInfo?.extra?.orgId`); may be async. */
  accountRefId: AccountResolver<ToolExtra>;
  /** A top-up link for insufficient_credits denials (a tool's own wins), or a function of the account. */
  topUpUrl?: string | ((accountRefId: string) => string | undefined);
  /** Names the connection of a call on a transport without session ids (other than stdio or HTTP). */
  connectionId?: ConnectionIdFn;
}

export interface McpChargeOptions {
  product: string;
  meter: string;
  /** Credits per call: a positive integer. */
  quantity: number;
  topUpUrl?: string | ((accountRefId: string) => string | undefined);
  /** `open` runs the tool uncharged while ecom9 is unreachable. @default 'closed' */
  failMode?: FailMode;
}

export interface McpReserveOptions {
  product: string;
  meter: string;
  /** The most one call may cost, held before the handler runs; it is settled for `hold.used`. */
  quantity: number;
  topUpUrl?: string | ((accountRefId: string) => string | undefined);
}

export interface McpGate {
  /** Only accounts on one of `tiers` run the tool; the denial carries the checkout link (`upgradeLink`, on by default). */
  requireTier(tiers: string | readonly string[], opts?: Omit<TierCheckOptions, 'tiers'>): ToolGuard;
  requireEntitlement(product: string, entitlement: string, opts?: { failMode?: FailMode }): ToolGuard;
  /** Debits `quantity` before the handler runs, once per session and request id. */
  chargeCredits(opts: McpChargeOptions): ToolGuard;
  /** Holds `quantity`, runs the handler with `extra.ecom9.hold`, and settles what it used (nothing used: released). */
  reserveCredits(opts: McpReserveOptions): ToolGuard;
}

/** How long (and how many) paid calls' answers are kept for a second delivery of the same request. */
export const REPLAY_TTL_MS = 10 * 60_000;
const REPLAY_MAX = 10_000;

const fn = z.custom<(...a: never[]) => unknown>((v) => typeof v === 'function', 'must be a function');
const url = z.union([z.string().min(1), fn]).optional();
const gateSchema = z.strictObject({ accountRefId: fn, topUpUrl: url, connectionId: fn.optional() });
const code = (what: string) => z.string().refine(isCode, `must be a non-empty ${what} code`);
const quantity = z.number().refine(isQuantity, 'must be a positive integer');
const chargeSchema = z.strictObject({
  product: code('product'),
  meter: code('meter'),
  quantity,
  topUpUrl: url,
  failMode: z.enum(['closed', 'open']).optional(),
});
const reserveSchema = z.strictObject({ product: code('product'), meter: code('meter'), quantity, topUpUrl: url });

function parse<T>(schema: z.ZodType, what: string, v: unknown): T {
  const r = schema.safeParse(v);
  if (!r.success) throw new OptionsError(`${what}: ${describeIssues(r.error.issues)}`);
  return v as T;
}

/** A denial as the model reads it: an error result holding the problem+json object. */
export function deniedResult(d: DeniedDecision): CallToolResult {
  const problem = toProblem(d);
  return { isError: true, content: [{ type: 'text', text: JSON.stringify(problem) }] };
}

/** A decision that came without what it grants (an account, a hold) as a denial: an allowed one there is not expected, and refused too. */
const asDenied = (d: Decision): DeniedDecision => (d.allowed ? deny('upstream_unavailable', d.source, { detail: 'Nothing was granted.' }) : d);

type Run = (
  ref: string,
  extra: ToolExtra,
  key: string,
  call: (state: McpEcom9State) => Promise<CallToolResult>,
  /** The call charged nothing (its hold given back): its answer is not kept for a redelivery. */
  free?: () => void,
) => Promise<CallToolResult>;

export function mcpGate(gate: Gate, options: McpGateOptions): McpGate {
  if (typeof (gate as Partial<Gate> | null | undefined)?.tierCheck !== 'function') throw new OptionsError('mcpGate: "gate" must be a gate from createGate()');
  const o = parse<McpGateOptions>(gateSchema, 'mcpGate', options);
  const report = (err: unknown): void => gate.reportError(err);
  const scopeOf = connectionScope(o.connectionId);
  const replays = new LRUCache<string, Promise<CallToolResult>>({ max: REPLAY_MAX, ttl: REPLAY_TTL_MS });

  const withTopUp = (d: DeniedDecision, ref: string, own: McpChargeOptions['topUpUrl']): DeniedDecision => {
    if (d.code !== 'insufficient_credits' || d.topUpUrl) return d;
    const link = own ?? o.topUpUrl;
    const u = typeof link === 'function' ? link(ref) : link;
    return u ? { ...d, topUpUrl: u } : d;
  };

  /**
   * A guard: resolves the account, then `run` decides. A paid guard's calls are keyed by `id` (what
   * it charges, so every process gives the same call the same key) and replayed; one nested in an
   * identical guard runs as its part of the same call.
   */
  const guard = (run: Run, id: string | undefined): ToolGuard => {
    const wrap =
      (handler: (...a: unknown[]) => CallToolResult | Promise<CallToolResult>) =>
      async (...a: unknown[]): Promise<CallToolResult> => {
        const extra = a[a.length - 1] as ToolExtra & { ecom9?: McpEcom9State };
        const args = a.length > 1 ? a[0] : undefined;
        const r = await resolveAccount(o.accountRefId, extra, report);
        if (typeof r !== 'string') return deniedResult(asDenied(r));
        const call = async (state: McpEcom9State) => handler(...a.slice(0, -1), { ...extra, ecom9: extra.ecom9 ? { ...extra.ecom9, ...state } : state });
        if (id === undefined) return run(r, extra, '', call);
        const key = requestKey(r, scopeOf(extra), extra.requestId, id, args);
        if (extra.ecom9?.credits?.eventKey === key || extra.ecom9?.hold?.key === key) return run(r, extra, key, call);
        let answer = replays.get(key);
        if (answer === undefined) {
          // Only a paid call is kept: a denial (nothing ran) or a hold given back (nothing charged) kept
          // here would push out the answers of paid calls for free, whose redelivery would then run
          // again, its debit answered by ecom9 as the first one (nothing charged).
          let paid = false;
          let free = false;
          const p = run(
            r,
            extra,
            key,
            (state) => {
              paid = true;
              return call(state);
            },
            () => {
              free = true;
            },
          );
          answer = p;
          replays.set(key, p);
          const forget = () => {
            if ((!paid || free) && replays.peek(key) === p) replays.delete(key);
          };
          p.then(forget, forget);
        }
        return answer;
      };
    return wrap as unknown as ToolGuard;
  };

  const check =
    (prepared: ReturnType<Gate['tierCheck']>): Run =>
    async (ref, _extra, _key, call) => {
      const decision = prepared.peek(ref) ?? (await prepared.check(ref));
      return decision.allowed ? call({ accountRefId: ref, decision }) : deniedResult(decision);
    };

  return {
    requireTier: (tiers, opts = {}) => guard(check(gate.tierCheck({ upgradeLink: true, ...opts, tiers })), undefined),
    requireEntitlement: (product, entitlement, opts = {}) => guard(check(gate.entitlementCheck({ ...opts, product, entitlement })), undefined),
    chargeCredits(opts) {
      const c = parse<McpChargeOptions>(chargeSchema, 'mcpGate.chargeCredits', opts);
      return guard(async (ref, _extra, eventKey, call) => {
        const credits = await gate.debitCredits({
          accountRefId: ref,
          product: c.product,
          meter: c.meter,
          quantity: c.quantity,
          eventKey,
          ...(c.failMode ? { failMode: c.failMode } : {}),
        });
        if (!credits.allowed) return deniedResult(withTopUp(credits, ref, c.topUpUrl));
        return call({
          accountRefId: ref,
          decision: credits,
          credits: { debited: credits.debited, remainingBalance: credits.remainingBalance, eventKey: credits.eventKey },
        });
      }, `charge\u0000${c.product}\u0000${c.meter}\u0000${c.quantity}`);
    },
    reserveCredits(opts) {
      const c = parse<McpReserveOptions>(reserveSchema, 'mcpGate.reserveCredits', opts);
      return guard(async (ref, _extra, key, call, free) => {
        const { decision, hold } = await gate.reserveCredits(ref, { product: c.product, meter: c.meter, quantity: c.quantity, key });
        if (!hold) return deniedResult(withTopUp(asDenied(decision), ref, c.topUpUrl));
        try {
          return await call({ accountRefId: ref, decision, hold });
        } finally {
          // What the handler used is charged whether it returned or threw; nothing used gives the hold back.
          if (!hold.settled) await (hold.used > 0 ? hold.settle() : hold.release()).catch(report);
          if (hold.used === 0) free?.();
        }
      }, `reserve\u0000${c.product}\u0000${c.meter}\u0000${c.quantity}`);
    },
  };
}
