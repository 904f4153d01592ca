// An MCP server with paid tools over the SDK's streamable HTTP transport: `generate_image` costs 5
// prepaid credits, `quarterly_report` needs the pro tier, `summarise` holds 20 credits and is charged
// one a started 10 words it wrote. A denial is a tool result the model can read (with the top-up or
// upgrade link). The account comes from the request's auth info: here a demo token table stands in
// for OAuth (use the SDK's requireBearerAuth in a real server).
import { randomUUID } from 'node:crypto';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import { createGate, type Gate, type GateOptions } from 'ecom9-gate';
import { mcpGate } from 'ecom9-gate/mcp';
import express from 'express';
import { z } from 'zod';

/** Demo bearer tokens and the ecom9 account each stands for. */
export const DEMO_TOKENS: Readonly<Record<string, string>> = { 'demo-acme': 'acme', 'demo-globex': 'globex' };

/** The MCP server of one session, its tools gated by ecom9. */
export function buildMcpServer(gate: Gate): McpServer {
  const m = mcpGate(gate, { accountRefId: (extra) => extra.authInfo?.extra?.orgId, topUpUrl: 'https://example.com/top-up' });
  const server = new McpServer({ name: 'ecom9-paid-tools', version: '1.0.0' });
  server.registerTool(
    'generate_image',
    { description: 'Draws an image from a prompt (5 credits).', inputSchema: { prompt: z.string() } },
    m.chargeCredits({ product: 'ai-images', meter: 'credits', quantity: 5 })(async ({ prompt }, extra) => ({
      content: [{ type: 'text', text: `https://example.com/images/${encodeURIComponent(prompt)}.png (${extra.ecom9.credits?.remainingBalance} credits left)` }],
    })),
  );
  server.registerTool(
    'quarterly_report',
    { description: 'The quarterly numbers (pro tier).' },
    m.requireTier('pro')(async (extra) => ({ content: [{ type: 'text', text: `Q3 for ${extra.ecom9.accountRefId}: revenue up 12%` }] })),
  );
  server.registerTool(
    'summarise',
    { description: 'Summarises a text (1 credit a started 10 words of summary, at most 20).', inputSchema: { text: z.string() } },
    m.reserveCredits({ product: 'ai-images', meter: 'credits', quantity: 20 })(async ({ text }, extra) => {
      const summary = text.split(/\s+/).filter(Boolean).slice(0, 25).join(' ');
      extra.ecom9.hold?.use(Math.max(1, Math.ceil(summary.split(' ').length / 10)));
      return { content: [{ type: 'text', text: summary }] };
    }),
  );
  return server;
}

/** Express serving MCP at /mcp: one server and transport per session. */
export function buildApp(options: GateOptions = {}, tokens: Readonly<Record<string, string>> = DEMO_TOKENS) {
  const gate = createGate(options);
  const sessions = new Map<string, StreamableHTTPServerTransport>();
  const app = express();
  app.use(express.json());
  app.post('/mcp', async (req, res) => {
    const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    const orgId = token ? tokens[token] : undefined;
    if (!token || !orgId) return void res.status(401).set('www-authenticate', 'Bearer').json({ error: 'invalid_token' });
    // What requireBearerAuth sets: the SDK hands it to tools as extra.authInfo.
    Object.assign(req, { auth: { token, clientId: 'demo', scopes: [], extra: { orgId } } });
    const id = req.headers['mcp-session-id'];
    let transport = typeof id === 'string' ? sessions.get(id) : undefined;
    if (!transport) {
      if (!isInitializeRequest(req.body)) return void res.status(400).json({ error: 'unknown session' });
      const t = new StreamableHTTPServerTransport({ sessionIdGenerator: randomUUID, onsessioninitialized: (sid) => void sessions.set(sid, t) });
      t.onclose = () => void (t.sessionId && sessions.delete(t.sessionId));
      transport = t;
      await buildMcpServer(gate).connect(t);
    }
    await transport.handleRequest(req, res, req.body);
  });
  const closeSessions = async () => {
    for (const t of sessions.values()) await t.close();
  };
  return { app, gate, closeSessions };
}
