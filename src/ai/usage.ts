// Token counts for pricing a model call: the provider's usage read whatever its shape (the AI SDK's
// v4/v3 nested totals, or v2's flat numbers), and counts of what was sent and delivered where the
// provider said nothing. No tokenizer is loaded: a count is CHARS_PER_TOKEN characters a token,
// rounded up, the usual rule of thumb for English text (docs/ai.md says so).

/** What `price` receives: plain numbers, 0 where the provider said nothing and nothing could be counted. */
export interface AiUsage {
  inputTokens: number;
  outputTokens: number;
  totalTokens: number;
  /** Input tokens read from the provider's prompt cache (0 when unknown). */
  cachedInputTokens: number;
  /** Output tokens spent on reasoning (0 when unknown). */
  reasoningTokens: number;
  /** True when input or output tokens were counted from text because the provider reported none. */
  estimated: boolean;
}

export const CHARS_PER_TOKEN = 4;

/** Tokens in `chars` characters of text: 0 for none, else at least 1. */
export function tokensOf(chars: number): number {
  return chars > 0 ? Math.ceil(chars / CHARS_PER_TOKEN) : 0;
}

const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : undefined);

/** A v4/v3 `{ total, ... }` member, or v2's plain number; a missing total is the sum of its known parts. */
function member(v: unknown, parts: readonly string[]): number | undefined {
  const n = num(v);
  if (n !== undefined) return n;
  if (typeof v !== 'object' || v === null) return undefined;
  const o = v as Record<string, unknown>;
  const total = num(o.total);
  if (total !== undefined) return total;
  const known = parts.map((p) => num(o[p])).filter((x): x is number => x !== undefined);
  return known.length ? known.reduce((a, b) => a + b, 0) : undefined;
}

/** The provider's usage as numbers, each undefined where it said nothing. */
export function readUsage(usage: unknown): { input?: number; output?: number; cached?: number; reasoning?: number } {
  if (typeof usage !== 'object' || usage === null) return {};
  const u = usage as Record<string, unknown>;
  const out: { input?: number; output?: number; cached?: number; reasoning?: number } = {};
  const input = member(u.inputTokens, ['noCache', 'cacheRead', 'cacheWrite']);
  const output = member(u.outputTokens, ['text', 'reasoning']);
  const cached = num((u.inputTokens as { cacheRead?: unknown } | null)?.cacheRead) ?? num(u.cachedInputTokens);
  const reasoning = num((u.outputTokens as { reasoning?: unknown } | null)?.reasoning) ?? num(u.reasoningTokens);
  if (input !== undefined) out.input = input;
  if (output !== undefined) out.output = output;
  if (cached !== undefined) out.cached = cached;
  if (reasoning !== undefined) out.reasoning = reasoning;
  return out;
}

/** The usage to price: the provider's numbers where it gave them, else counts of the text sent and delivered. */
export function usageFor(providerUsage: unknown, promptChars: number, deliveredChars: number): AiUsage {
  const r = readUsage(providerUsage);
  const inputTokens = r.input ?? tokensOf(promptChars);
  const outputTokens = r.output ?? tokensOf(deliveredChars);
  return {
    inputTokens,
    outputTokens,
    totalTokens: inputTokens + outputTokens,
    cachedInputTokens: r.cached ?? 0,
    reasoningTokens: r.reasoning ?? 0,
    estimated: r.input === undefined || r.output === undefined,
  };
}

/** Characters of text in a call's prompt (system text, text and reasoning parts, tool calls and results); files are not counted. */
export function promptChars(prompt: unknown): number {
  if (!Array.isArray(prompt)) return 0;
  let n = 0;
  for (const m of prompt as { content?: unknown }[]) {
    const content = m?.content;
    if (typeof content === 'string') n += content.length;
    else if (Array.isArray(content)) for (const p of content) n += partChars(p);
  }
  return n;
}

function partChars(p: unknown): number {
  if (typeof p !== 'object' || p === null) return 0;
  const part = p as { type?: unknown; text?: unknown; input?: unknown; output?: unknown };
  if ((part.type === 'text' || part.type === 'reasoning') && typeof part.text === 'string') return part.text.length;
  if (part.type === 'tool-call') return jsonChars(part.input);
  if (part.type === 'tool-result') return jsonChars(part.output);
  return 0;
}

function jsonChars(v: unknown): number {
  if (typeof v === 'string') return v.length;
  try {
    return JSON.stringify(v)?.length ?? 0;
  } catch {
    return 0;
  }
}

/** Characters of output in a generate result's content (text, reasoning, tool-call input). */
export function contentChars(content: unknown): number {
  if (!Array.isArray(content)) return 0;
  let n = 0;
  for (const p of content) n += partChars(p);
  return n;
}
