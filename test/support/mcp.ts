// MCP fixtures: a server per connection serving over the SDK's streamable HTTP transport on loopback
// (sessions, bearer tokens standing in for OAuth), and a raw JSON-RPC peer that can deliver one
// request twice, which the SDK's Client never does.
import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { isInitializeRequest, type JSONRPCMessage, LATEST_PROTOCOL_VERSION } from '@modelcontextprotocol/sdk/types.js';
import express from 'express';

/** Serves `makeServer()` per MCP session at /mcp; `Authorization: Bearer <token>` names the org via `tokens`. */
export async function serveMcp(makeServer: () => McpServer, tokens: Record<string, string>) {
  const app = express();
  app.use(express.json());
  const sessions = new Map<string, StreamableHTTPServerTransport>();
  app.post('/mcp', async (req, res) => {
    const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    const orgId = token === undefined ? undefined : tokens[token];
    if (!token || !orgId) return void res.status(401).json({ error: 'invalid_token' });
    (req as typeof req & { auth?: unknown }).auth = { token, clientId: 'test', scopes: [], extra: { orgId } };
    const id = req.headers['mcp-session-id'];
    let transport = typeof id === 'string' ? sessions.get(id) : undefined;
    if (!transport) {
      if (!isInitializeRequest(req.body)) return void res.status(400).json({ error: 'no session' });
      const t = new StreamableHTTPServerTransport({
        sessionIdGenerator: randomUUID,
        enableJsonResponse: true,
        onsessioninitialized: (sid) => void sessions.set(sid, t),
      });
      transport = t;
      await makeServer().connect(t);
    }
    await transport.handleRequest(req, res, req.body);
  });
  const server: Server = app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`;
  return {
    url,
    async close() {
      for (const t of sessions.values()) await t.close();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** A JSON-RPC peer on a transport: initialize, then send any message (the same request twice too). */
export async function rawPeer(transport: Transport) {
  const answers = new Map<string | number, JSONRPCMessage[]>();
  const waiting = new Set<() => void>();
  transport.onmessage = (m) => {
    if ('id' in m && m.id !== undefined && ('result' in m || 'error' in m)) {
      answers.set(m.id, [...(answers.get(m.id) ?? []), m]);
      for (const w of waiting) w();
    }
  };
  await transport.start();
  /** Resolves with the first `n` answers to request `id`. */
  const answered = (id: string | number, n: number) =>
    new Promise<JSONRPCMessage[]>((resolve) => {
      const check = () => {
        const got = answers.get(id) ?? [];
        if (got.length >= n) waiting.delete(check), resolve(got);
      };
      waiting.add(check);
      check();
    });
  await transport.send({
    jsonrpc: '2.0',
    id: 'init',
    method: 'initialize',
    params: { protocolVersion: LATEST_PROTOCOL_VERSION, capabilities: {}, clientInfo: { name: 'raw', version: '1.0.0' } },
  });
  await answered('init', 1);
  await transport.send({ jsonrpc: '2.0', method: 'notifications/initialized' });
  return {
    answered,
    callTool: (id: number, name: string, args: Record<string, unknown>) =>
      transport.send({ jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: args } }),
  };
}
