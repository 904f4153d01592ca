// ecom9-gate/mcp: ecom9 guards for MCP tools (@modelcontextprotocol/sdk, an optional peer; this
// subpath only names its types). See docs/ai.md.
export { mcpGate, deniedResult, REPLAY_TTL_MS, type McpGate, type McpGateOptions, type McpChargeOptions, type McpReserveOptions } from './gate';
export type { ToolGuard, ToolExtra, GatedToolExtra, GatedCallback, ToolReturn, McpEcom9State, CallToolResult } from './types';
export type { ConnectionIdFn } from './request-key';
// Every core type (src/types.ts), so a type this subpath's signatures name (and what those name in
// turn) is imported from here as from ecom9-gate.
export type * from '../types';
