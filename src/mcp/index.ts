// ecom9-gate/mcp: ecom9 guards for MCP tools (@modelcontextprotocol/sdk, an optional peer; this
// subpath only names its types). See docs/ai.md.
export { mcpGate, deniedResult, REPLAY_TTL_MS, type McpGate, type McpGateOptions, type McpChargeOptions, type McpReserveOptions } from './gate';
export type { ToolGuard, ToolExtra, GatedToolExtra, GatedCallback, ToolReturn, McpEcom9State, CallToolResult } from './types';
export type { ConnectionIdFn } from './request-key';
export type { Gate } from '../gate/create-gate';
export type { Decision, DecisionCode, DecisionSource, DenialCode } from '../gate/decision';
export type { FailMode } from '../gate/access';
export type { TierCheckOptions } from '../gate/tier-rule';
export type { Hold, HoldSettlement } from '../gate/hold';
export type { AccountResolver } from '../middleware/guards';
