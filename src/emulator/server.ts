// The emulator's HTTP front: auth by either header, routing, the call log and fault injection,
// in front of the endpoint functions in routes.ts.
import { setMaxListeners } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { EndpointName } from '../shared/endpoints';
import type { FaultSpec, Faults } from './faults';
import { ROUTES, matchRoute, type EmuResponse } from './routes';
import type { EmulatorState } from './state';

export interface CallRecord {
  endpoint: EndpointName | 'unknown';
  method: string;
  path: string;
  query: Record<string, string>;
  body: unknown;
  accountRefId?: string;
  at: number;
}

const MAX_BODY = 1024 * 1024;
/** The call log keeps the most recent calls only, so a long-running emulator does not grow without bound. */
export const MAX_CALL_LOG = 50_000;

function send(res: ServerResponse, r: EmuResponse, headers: Record<string, string> = {}): void {
  if (r.body === undefined) {
    res.writeHead(r.status, { 'content-length': '0', ...headers });
    res.end();
    return;
  }
  const text = JSON.stringify(r.body);
  res.writeHead(r.status, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)), ...headers });
  res.end(text);
}

async function readBody(req: IncomingMessage): Promise<string | undefined> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const c of req as AsyncIterable<Buffer>) {
    size += c.length;
    if (size > MAX_BODY) return undefined;
    chunks.push(c);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** An injected status answers with the body ecom9 documents for it, so clients parse it as they would the real one. */
function injectedStatus(f: FaultSpec): EmuResponse {
  const status = f.status ?? 503;
  if (f.body !== undefined) return { status, body: f.body };
  if (status === 204) return { status };
  if (status === 400) return { status, body: { non_field_errors: ['Injected failure'] } };
  if (status === 404) return { status, body: { error: 'Injected failure' } };
  return { status, body: { detail: 'Injected failure' } };
}

export function createEmulatorServer(opts: { state: EmulatorState; faults: Faults; apiKey: () => string; calls: CallRecord[] }): Server {
  const { state, faults, calls } = opts;
  const sockets = new Set<import('node:net').Socket>();
  // Ends held (latency) requests at close(), so no timer outlives the emulator. Every held request
  // listens on it, and a fault test holds dozens at once: that is no leak.
  const closing = new AbortController();
  setMaxListeners(0, closing.signal);
  const server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) send(res, { status: 500, body: { detail: 'emulator error' } });
      else res.destroy();
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const rawUrl = req.url ?? '/';
    const q = rawUrl.indexOf('?');
    const path = q < 0 ? rawUrl : rawUrl.slice(0, q);
    const query = new URLSearchParams(q < 0 ? '' : rawUrl.slice(q + 1));
    const text = await readBody(req);
    if (text === undefined) return send(res, { status: 413, body: { detail: 'Request body too large.' } });
    let body: unknown;
    let badJson = false;
    if (text !== '') {
      try {
        body = JSON.parse(text);
      } catch {
        badJson = true;
      }
    }
    const route = matchRoute(req.method ?? 'GET', path);
    const endpoint = 'endpoint' in route ? route.endpoint : 'unknown';
    const params = 'endpoint' in route ? route.params : {};
    const accountRefId = params.ref ?? query.get('account_ref_id') ?? (body as { account_ref_id?: unknown } | undefined)?.account_ref_id;
    if (calls.length >= MAX_CALL_LOG) calls.splice(0, MAX_CALL_LOG / 10);
    calls.push({
      endpoint,
      method: req.method ?? 'GET',
      path,
      query: Object.fromEntries(query),
      body,
      ...(typeof accountRefId === 'string' ? { accountRefId } : {}),
      at: state.now(),
    });
    // An unknown path is not one of ecom9's documented 404s ({error}): a gate pointed at the wrong base
    // URL must see a misconfiguration, not "unknown account".
    if (!('endpoint' in route)) {
      return send(
        res,
        route.status === 405 ? { status: 405, body: { detail: `Method "${req.method}" not allowed.` } } : { status: 404, body: { detail: 'Not found.' } },
      );
    }
    // Auth schemes are case-insensitive (RFC 9110 11.1): `bearer KEY` is a Bearer token too.
    const bearer = /^bearer +(.+)$/i.exec(req.headers.authorization ?? '')?.[1];
    const key = bearer ?? (req.headers['x-api-key'] as string | undefined);
    if (key === undefined) return send(res, { status: 401, body: { detail: 'Authentication credentials were not provided.' } });
    if (key !== opts.apiKey()) return send(res, { status: 401, body: { detail: 'Invalid API key' } });
    if (badJson) return send(res, { status: 400, body: { detail: ['JSON parse error'] } });

    const run = () => ROUTES[route.endpoint](state, { method: req.method ?? 'GET', params, query, body, origin: `http://${req.headers.host}`, path });
    const fault = faults.take(route.endpoint, typeof accountRefId === 'string' ? accountRefId : undefined);
    switch (fault?.kind) {
      case undefined:
        return send(res, run());
      case 'latency':
        await sleep(fault.ms ?? 1_000, undefined, { signal: closing.signal }).catch(() => {});
        // A client that gave up is gone: nothing is processed for it.
        if (req.socket.destroyed || closing.signal.aborted) return;
        return send(res, run());
      case 'status':
        return send(res, injectedStatus(fault));
      case 'rate_limit':
        return send(res, { status: 429, body: { detail: 'Request was throttled.' } }, { 'retry-after': String(fault.retryAfter ?? 1) });
      case 'drop': {
        if (!fault.dropAfterProcessing) return void req.socket.destroy();
        const r = run();
        const text = JSON.stringify(r.body ?? {});
        res.writeHead(r.status, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)) });
        res.write(text.slice(0, Math.floor(text.length / 2)));
        setImmediate(() => req.socket.destroy());
        return;
      }
      case 'malformed': {
        run();
        res.writeHead(200, { 'content-type': 'application/json' });
        return void res.end('{"broken": ');
      }
      case 'bad_schema':
        run();
        return send(res, { status: 200, body: { unexpected: true } });
    }
  }

  // Held requests (latency faults) must not keep close() waiting.
  const close = server.close.bind(server);
  server.close = ((cb?: (err?: Error) => void) => {
    closing.abort();
    for (const s of sockets) s.destroy();
    return close(cb);
  }) as typeof server.close;
  return server;
}
