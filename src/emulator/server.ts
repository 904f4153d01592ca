// The emulator's HTTP front: auth by either header, routing, the call log and fault injection,
// in front of the endpoint functions in routes.ts; the console page at / and its API under /__emulator/.
import { createHash, timingSafeEqual } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { FaultSpec, Faults } from './faults';
import { handleAdmin, problem, type AdminDeps } from './admin';
import type { CallRecord } from './call-log';
import { consolePage } from './console-page';
import { ROUTES, matchRoute, type EmuResponse } from './routes';
import type { EmulatorState } from './state';

const MAX_BODY = 1024 * 1024;
/** The call log keeps the most recent calls only, so a long-running emulator does not grow without bound. */
export const MAX_CALL_LOG = 50_000;

function sendJson(res: ServerResponse, r: EmuResponse, headers: Record<string, string> = {}): void {
  if (r.body === undefined) {
    res.writeHead(r.status, { 'content-length': '0', ...headers });
    res.end();
    return;
  }
  const text = JSON.stringify(r.body);
  res.writeHead(r.status, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)), ...headers });
  res.end(text);
}

function sendAnswer(res: ServerResponse, a: { status: number; body: unknown; contentType: string; headers?: Record<string, string> }): void {
  const text = JSON.stringify(a.body);
  res.writeHead(a.status, { 'content-type': a.contentType, 'content-length': String(Buffer.byteLength(text)), 'cache-control': 'no-store', ...a.headers });
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

/** The key a request carries: `Authorization: Bearer KEY` (scheme in any case, RFC 9110 11.1) or `X-API-Key`. */
function keyOf(req: IncomingMessage): string | undefined {
  return /^bearer +(.+)$/i.exec(req.headers.authorization ?? '')?.[1] ?? (req.headers['x-api-key'] as string | undefined);
}

/** Compared in constant time, as a real key check would be (digests first: the lengths may differ). */
function sameKey(given: string, key: string): boolean {
  const digest = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(given), digest(key));
}

/**
 * The console (the page, which carries the emulator's key, and its API under /__emulator/) is served
 * only to a Host that names this machine or an IP address: a DNS name rebound to 127.0.0.1 by another
 * site can neither read the key nor, with the well-known default key, use the API.
 */
function localHost(host: string | undefined): boolean {
  const name = (host ?? '').replace(/:\d+$/, '').toLowerCase();
  return name === 'localhost' || name.endsWith('.localhost') || /^\[[0-9a-f:.]+\]$/.test(name) || /^\d{1,3}(\.\d{1,3}){3}$/.test(name);
}

export interface EmulatorServerOptions {
  state: EmulatorState;
  faults: Faults;
  apiKey: () => string;
  calls: CallRecord[];
  admin: AdminDeps;
}

export function createEmulatorServer(opts: EmulatorServerOptions): Server {
  const { state, faults, calls } = opts;
  let lastId = 0;
  const sockets = new Set<import('node:net').Socket>();
  // Ends held (latency) requests at close(), so no timer outlives the emulator. Every held request
  // listens on it, and a fault test holds dozens at once: that is no leak.
  const closing = new AbortController();
  setMaxListeners(0, closing.signal);
  const server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) sendJson(res, { status: 500, body: { detail: 'emulator error' } });
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
    if (text === undefined) return sendJson(res, { status: 413, body: { detail: 'Request body too large.' } });
    let body: unknown;
    let badJson = false;
    if (text !== '') {
      try {
        body = JSON.parse(text);
      } catch {
        badJson = true;
      }
    }
    if (path === '/' || path.startsWith('/__emulator/')) return handleConsole(req, res, path, query, text);
    const route = matchRoute(req.method ?? 'GET', path);
    const endpoint = 'endpoint' in route ? route.endpoint : 'unknown';
    const params = 'endpoint' in route ? route.params : {};
    const accountRefId = params.ref ?? query.get('account_ref_id') ?? (body as { account_ref_id?: unknown } | undefined)?.account_ref_id;
    if (calls.length >= MAX_CALL_LOG) calls.splice(0, MAX_CALL_LOG / 10);
    const call: CallRecord = {
      id: ++lastId,
      endpoint,
      method: req.method ?? 'GET',
      path,
      query: Object.fromEntries(query),
      body,
      ...(typeof accountRefId === 'string' ? { accountRefId } : {}),
      at: state.now(),
    };
    calls.push(call);
    const send = (res: ServerResponse, r: EmuResponse, headers: Record<string, string> = {}) => {
      call.status = r.status;
      if (r.body !== undefined) call.response = r.body;
      sendJson(res, r, headers);
    };
    // An unknown path is not one of ecom9's documented 404s ({error}): a gate pointed at the wrong base
    // URL must see a misconfiguration, not "unknown account".
    if (!('endpoint' in route)) {
      return send(
        res,
        route.status === 405 ? { status: 405, body: { detail: `Method "${req.method}" not allowed.` } } : { status: 404, body: { detail: 'Not found.' } },
      );
    }
    const key = keyOf(req);
    if (key === undefined) return send(res, { status: 401, body: { detail: 'Authentication credentials were not provided.' } });
    if (!sameKey(key, opts.apiKey())) return send(res, { status: 401, body: { detail: 'Invalid API key' } });
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
        call.status = 200;
        res.writeHead(200, { 'content-type': 'application/json' });
        return void res.end('{"broken": ');
      }
      case 'bad_schema':
        run();
        return send(res, { status: 200, body: { unexpected: true } });
    }
  }

  async function handleConsole(req: IncomingMessage, res: ServerResponse, path: string, query: URLSearchParams, text: string): Promise<void> {
    if (path === '/' && req.method !== 'GET' && req.method !== 'HEAD')
      return sendAnswer(res, problem(405, `${req.method} is not allowed on /`, undefined, { allow: 'GET, HEAD' }));
    // The page and its API alike: the key is well known by default, so a site whose DNS name was
    // rebound to 127.0.0.1 would not need the page to read or drive the console.
    if (!localHost(req.headers.host)) return sendAnswer(res, problem(403, 'the console is served to localhost or an IP address only'));
    if (path === '/') {
      const page = consolePage(opts.apiKey());
      res.writeHead(200, { ...page.headers, 'content-length': String(Buffer.byteLength(page.html)) });
      return void res.end(req.method === 'HEAD' ? undefined : page.html);
    }
    const key = keyOf(req);
    if (key === undefined) return sendAnswer(res, problem(401, 'the API key is required: Authorization: Bearer KEY or X-API-Key: KEY'));
    if (!sameKey(key, opts.apiKey())) return sendAnswer(res, problem(401, 'invalid API key'));
    const answer = await handleAdmin(opts.admin, { method: req.method ?? 'GET', path: path.slice('/__emulator/'.length), query, text });
    sendAnswer(res, answer);
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
