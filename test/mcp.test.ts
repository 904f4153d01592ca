// ecom9-gate/mcp with a real MCP client and server (in memory, and streamable HTTP on loopback) and
// the emulator as ecom9: denials are tool results, paid calls are charged once per session and
// request id, and a hold-backed tool is charged what it used.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { LATEST_PROTOCOL_VERSION } from '@modelcontextprotocol/sdk/types.js';
import { mcpGate, type McpGateOptions } from 'ecom9-gate/mcp';
import { createTestGate, type TestGate } from 'ecom9-gate/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { rawPeer, serveMcp } from './support/mcp';

const P = 'ai-images';
const M = 'credits';
const TOP_UP = 'https://shop.example/top-up';

let t: TestGate;
let ran: string[];
beforeEach(async () => {
  t = await createTestGate();
  ran = [];
});
afterEach(() => t.close());

/** The tools of every test: a paid one, a pro-only one and a hold-backed one. */
function toolServer(accountRefId: McpGateOptions['accountRefId']) {
  const m = mcpGate(t.gate, { accountRefId, topUpUrl: TOP_UP });
  const server = new McpServer({ name: 'paid-tools', version: '1.0.0' });
  server.registerTool(
    'generate_image',
    { description: 'Draws an image (5 credits)', inputSchema: { prompt: z.string() } },
    m.chargeCredits({ product: P, meter: M, quantity: 5 })(async ({ prompt }, extra) => {
      ran.push(`image:${prompt}`);
      return { content: [{ type: 'text', text: `image of ${prompt}; ${extra.ecom9.credits?.remainingBalance} left` }] };
    }),
  );
  server.registerTool(
    'quarterly_report',
    { description: 'Pro only' },
    m.requireTier('pro')(async (extra) => {
      ran.push('report');
      return { content: [{ type: 'text', text: `report for ${extra.ecom9.accountRefId}` }] };
    }),
  );
  server.registerTool(
    'summarise',
    { description: 'Summarises (1 credit a word, at most 20)', inputSchema: { words: z.number() } },
    m.reserveCredits({ product: P, meter: M, quantity: 20 })(async ({ words }, extra) => {
      ran.push(`summary:${words}`);
      extra.ecom9.hold?.use(words);
      return { content: [{ type: 'text', text: `summary in ${words} words` }] };
    }),
  );
  return server;
}

async function inMemoryClient(accountRefId: string) {
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  await toolServer(() => accountRefId).connect(serverSide);
  const client = new Client({ name: 'test', version: '1.0.0' });
  await client.connect(clientSide);
  return client;
}

const text = (r: unknown) => (r as { content: { text: string }[] }).content[0]?.text ?? '';
const debits = (ref = 'acme') => t.emulator.ledger.filter((r) => r.approved && r.accountRefId === ref && r.product === P).map((r) => r.quantity);

describe('in memory', () => {
  it('charges a paid tool once and runs it', async () => {
    const client = await inMemoryClient('acme');
    const r = await client.callTool({ name: 'generate_image', arguments: { prompt: 'a cat' } });
    expect(r.isError).toBeFalsy();
    expect(text(r)).toBe('image of a cat; 95 left');
    expect(debits()).toEqual([5]);
    expect(ran).toEqual(['image:a cat']);
  });

  it('answers a short balance with an isError result holding the problem and top-up link; the handler does not run', async () => {
    const client = await inMemoryClient('globex'); // 3 credits
    const r = await client.callTool({ name: 'generate_image', arguments: { prompt: 'a cat' } });
    expect(r.isError).toBe(true);
    expect(JSON.parse(text(r))).toMatchObject({ code: 'insufficient_credits', status: 402, remaining_balance: 3, top_up_url: TOP_UP });
    expect(ran).toEqual([]);
    expect(debits('globex')).toEqual([]);
  });

  it('answers a tier denial as a tool result, not a protocol error', async () => {
    const client = await inMemoryClient('globex'); // starter
    const r = await client.callTool({ name: 'quarterly_report', arguments: {} });
    expect(r.isError).toBe(true);
    expect(JSON.parse(text(r))).toMatchObject({ code: 'tier_required', status: 403, required_tiers: ['pro'] });
    expect(ran).toEqual([]);
    const ok = await (await inMemoryClient('acme')).callTool({ name: 'quarterly_report', arguments: {} });
    expect(text(ok)).toBe('report for acme');
  });

  it('answers an unresolved account with a 401 result', async () => {
    const client = await inMemoryClient('');
    const r = await client.callTool({ name: 'generate_image', arguments: { prompt: 'x' } });
    expect(JSON.parse(text(r))).toMatchObject({ code: 'account_unresolved', status: 401 });
    expect(ran).toEqual([]);
  });

  it('charges the same request delivered twice once, and answers both', async () => {
    const [peerSide, serverSide] = InMemoryTransport.createLinkedPair();
    await toolServer(() => 'acme').connect(serverSide);
    const peer = await rawPeer(peerSide);
    await peer.callTool(7, 'generate_image', { prompt: 'twice' });
    await peer.callTool(7, 'generate_image', { prompt: 'twice' });
    const [a, b] = await peer.answered(7, 2);
    expect(a).toEqual(b);
    expect(debits()).toEqual([5]);
    expect(ran).toEqual(['image:twice']);
    // Another request id is another call; so is the same id with other arguments.
    await peer.callTool(8, 'generate_image', { prompt: 'twice' });
    await peer.callTool(7, 'generate_image', { prompt: 'other' });
    await peer.answered(8, 1);
    await peer.answered(7, 3);
    expect(debits()).toEqual([5, 5, 5]);
  });

  it('charges a hold-backed tool what it used, and nothing when it used nothing', async () => {
    const client = await inMemoryClient('acme');
    const r = await client.callTool({ name: 'summarise', arguments: { words: 7 } });
    expect(text(r)).toBe('summary in 7 words');
    await client.callTool({ name: 'summarise', arguments: { words: 0 } });
    expect(debits()).toEqual([7]);
    expect(t.credits('acme', P, M)).toBe(93);
  });
});

describe('streamable HTTP', () => {
  const tokens = { 'tok-acme': 'acme', 'tok-globex': 'globex' };
  const resolver: McpGateOptions['accountRefId'] = (extra) => extra.authInfo?.extra?.orgId;

  async function connect(url: string, token: string) {
    const transport = new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers: { authorization: `Bearer ${token}` } } });
    const client = new Client({ name: 'test', version: '1.0.0' });
    await client.connect(transport);
    return { client, transport };
  }

  it('charges a paid tool once, takes the account from the auth info, and charges a redelivered request once per session', async () => {
    const http = await serveMcp(() => toolServer(resolver), tokens);
    try {
      const { client, transport } = await connect(http.url, 'tok-acme');
      expect(text(await client.callTool({ name: 'generate_image', arguments: { prompt: 'http' } }))).toBe('image of http; 95 left');
      expect(debits()).toEqual([5]);

      const post = (sessionId: string, token: string) =>
        fetch(http.url, {
          method: 'POST',
          headers: {
            authorization: `Bearer ${token}`,
            'content-type': 'application/json',
            accept: 'application/json, text/event-stream',
            'mcp-session-id': sessionId,
            'mcp-protocol-version': LATEST_PROTOCOL_VERSION,
          },
          body: JSON.stringify({ jsonrpc: '2.0', id: 99, method: 'tools/call', params: { name: 'generate_image', arguments: { prompt: 'again' } } }),
        }).then((r) => r.json());
      const sid = transport.sessionId as string;
      const first = await post(sid, 'tok-acme');
      const second = await post(sid, 'tok-acme');
      expect(second).toEqual(first);
      expect(debits()).toEqual([5, 5]);
      expect(ran).toEqual(['image:http', 'image:again']);

      // Another session's request 99 is its own call: charged, and never answered with this session's result.
      const other = await connect(http.url, 'tok-acme');
      await post(other.transport.sessionId as string, 'tok-acme');
      expect(debits()).toEqual([5, 5, 5]);

      const short = await connect(http.url, 'tok-globex');
      const denied = await short.client.callTool({ name: 'generate_image', arguments: { prompt: 'x' } });
      expect(denied.isError).toBe(true);
      expect(JSON.parse(text(denied))).toMatchObject({ code: 'insufficient_credits', top_up_url: TOP_UP });
      for (const c of [client, other.client, short.client]) await c.close();
    } finally {
      await http.close();
    }
  });

  it('charges a hold-backed tool what it used over HTTP', async () => {
    const http = await serveMcp(() => toolServer(resolver), tokens);
    try {
      const { client } = await connect(http.url, 'tok-acme');
      await client.callTool({ name: 'summarise', arguments: { words: 12 } });
      expect(debits()).toEqual([12]);
      await client.close();
    } finally {
      await http.close();
    }
  });
});

describe('keys', () => {
  /** What the SDK hands a callback for a request of a session (another instance may serve the next delivery). */
  const extraOf = (sessionId: string, requestId: number) =>
    ({ sessionId, requestId, signal: new AbortController().signal, sendNotification: async () => {}, sendRequest: async () => ({}) }) as never;
  const image = async (args: { prompt: string }) => {
    ran.push(args.prompt);
    return { content: [{ type: 'text' as const, text: args.prompt }] };
  };
  const charge = { product: P, meter: M, quantity: 5 };

  it('gives a request the same key in every process: delivered again to another instance, it is charged once', async () => {
    const one = mcpGate(t.gate, { accountRefId: () => 'acme' });
    const other = mcpGate(t.gate, { accountRefId: () => 'acme' });
    other.requireTier('pro'); // guards made in another order
    await one.chargeCredits(charge)(image)({ prompt: 'p' }, extraOf('session-1', 3));
    await other.chargeCredits(charge)(image)({ prompt: 'p' }, extraOf('session-1', 3));
    expect(debits()).toEqual([5]);
    await other.chargeCredits(charge)(image)({ prompt: 'p' }, extraOf('session-2', 3));
    expect(debits()).toEqual([5, 5]);
  });

  it('runs a guard nested in an identical one as part of the same call: charged once, the handler once', async () => {
    const m = mcpGate(t.gate, { accountRefId: () => 'acme' });
    const r = await m.chargeCredits(charge)(m.chargeCredits(charge)(image))({ prompt: 'nested' }, extraOf('s', 1));
    expect(r).toEqual({ content: [{ type: 'text', text: 'nested' }] });
    expect(ran).toEqual(['nested']);
    expect(debits()).toEqual([5]);
  });
});

describe('options', () => {
  it('refuses an unknown or bad option at once, naming it', () => {
    expect(() => mcpGate(t.gate, { accountRefId: () => 'a', topUpURL: 'x' } as never)).toThrow(/unknown option "topUpURL"/);
    const m = mcpGate(t.gate, { accountRefId: () => 'a' });
    expect(() => m.chargeCredits({ product: P, meter: M, quantity: 1.5 })).toThrow(/"quantity" must be a positive integer/);
    expect(() => m.reserveCredits({ product: P, meter: M, quantity: 5, qty: 5 } as never)).toThrow(/unknown option "qty"/);
  });
});
