// Type checks of ecom9-gate/mcp's ToolGuard against the MCP SDK's registerTool (run by `npm run
// typecheck`): handlers written inline get their args from the input schema and `extra.ecom9`,
// with or without a schema, and standalone ones keep their annotations; mistakes stay errors.
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { GatedToolExtra, ToolGuard } from 'ecom9-gate/mcp';
import { z } from 'zod';

declare const g: ToolGuard;
const server = new McpServer({ name: 'types', version: '1.0.0' });
server.registerTool(
  'a',
  { inputSchema: { prompt: z.string() } },
  g(async ({ prompt }, extra) => ({ content: [{ type: 'text', text: prompt + extra.ecom9.accountRefId }] })),
);
server.registerTool(
  'b',
  { inputSchema: { prompt: z.string() } },
  g(async ({ prompt }) => ({ content: [{ type: 'text', text: prompt }] })),
);
server.registerTool(
  'c',
  { description: 'no input' },
  g(async (extra) => ({ content: [{ type: 'text', text: extra.ecom9.hold?.key ?? '' }] })),
);
const standalone = g(async (args: { n: number }, extra: GatedToolExtra) => ({ content: [{ type: 'text', text: `${args.n}${extra.ecom9.accountRefId}` }] }));
server.registerTool('d', { inputSchema: { n: z.number() } }, standalone);
const alone = g(async (extra) => ({ content: [{ type: 'text', text: extra.ecom9.accountRefId }] }));
server.registerTool('e', { description: 'no input' }, alone);
server.registerTool(
  'f',
  { inputSchema: { prompt: z.string() } },
  // @ts-expect-error prompt is a string
  g(async ({ prompt }) => ({ content: [{ type: 'text', text: prompt.toFixed() }] })),
);
server.registerTool(
  'h',
  { description: 'no input' },
  // @ts-expect-error extra.ecom9 has no such member
  g(async (extra) => ({ content: [{ type: 'text', text: extra.ecom9.nope }] })),
);
server.registerTool(
  'i',
  { description: 'no input' },
  // @ts-expect-error a handler returns a tool result
  g(async () => 5),
);
