// The MCP SDK's types as ecom9-gate/mcp names them: a tool callback's `extra`, what a gated handler
// reads in `extra.ecom9`, and the wrapper each guard returns. Types only: the SDK is the app's.
import type { RequestHandlerExtra } from '@modelcontextprotocol/sdk/shared/protocol.js';
import type { CallToolResult, ServerNotification, ServerRequest } from '@modelcontextprotocol/sdk/types.js';
import type { Decision } from '../gate/decision';
import type { Hold } from '../gate/hold';

/** The `extra` the MCP SDK passes a tool callback (signal, sessionId, requestId, authInfo, ...). */
export type ToolExtra = RequestHandlerExtra<ServerRequest, ServerNotification>;

/** What a gated tool handler reads at `extra.ecom9`. */
export interface McpEcom9State {
  accountRefId: string;
  decision: Decision;
  /** chargeCredits: what was debited for this call. */
  credits?: { debited: number; remainingBalance: number | undefined; eventKey: string };
  /** reserveCredits: the call's hold; `hold.use(n)` what the work used (settled when the handler returns). */
  hold?: Hold;
}

/** A tool callback's `extra` with `ecom9` added, as a gated handler gets it. */
export type GatedToolExtra = ToolExtra & { ecom9: McpEcom9State };

export type { CallToolResult };

/** What a tool callback returns. */
export type ToolReturn = CallToolResult | Promise<CallToolResult>;

/** A `registerTool` callback type with a gated handler's `extra` (`(args, extra)` or `(extra)`). */
export type GatedCallback<Cb> = Cb extends (...a: infer P) => infer R
  ? P extends [infer E]
    ? (extra: E & GatedToolExtra) => R
    : P extends [infer A, infer E]
      ? (args: A, extra: E & GatedToolExtra) => R
      : never
  : never;

/**
 * Wraps a `registerTool` callback: `(args, extra) => result` for a tool with an input schema, or
 * `(extra) => result` for one without. The handler runs only when the guard allows, and gets
 * `extra.ecom9`; a denial is answered as an `isError` tool result. Written inline in registerTool,
 * the handler's args are typed from the tool's input schema (the first signature); standalone, from
 * its own annotations (the others).
 */
export interface ToolGuard {
  // biome-ignore lint/suspicious/noExplicitAny: any callback type registerTool expects
  <Cb extends (...a: any[]) => ToolReturn>(handler: GatedCallback<Cb>): Cb;
  <R extends ToolReturn>(handler: (extra: GatedToolExtra) => R): (extra: ToolExtra) => Promise<Awaited<R> | CallToolResult>;
  <A, R extends ToolReturn>(handler: (args: A, extra: GatedToolExtra) => R): (args: A, extra: ToolExtra) => Promise<Awaited<R> | CallToolResult>;
}
