// The two ways to send one attempt: an undici Pool on Node, the runtime's own fetch everywhere else (Bun
// has no working undici Pool; Bun, Deno and the edge runtimes pool connections inside their fetch). The
// retry loop, the per-attempt timeout and the error types stay in transport.ts, shared by both.
import type { Dispatcher } from 'undici';

/** What one attempt hands back to the transport, whichever sender made it. */
export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

export interface OutgoingRequest {
  url: URL;
  method: 'GET' | 'POST';
  headers: Record<string, string>;
  body: string | null;
  signal: AbortSignal;
}

export interface Sender {
  send(req: OutgoingRequest): Promise<RawResponse>;
  close(): Promise<void>;
}

export type TransportKind = 'undici' | 'fetch';

/** Makes the owned undici Pool: present only where the "#undici-pool" condition resolved to undici (Node). */
export type PoolFactory = (origin: string, connections: number) => Dispatcher;

/**
 * The transport for this runtime, chosen once: undici where its pool was loaded (Node), else the
 * runtime's fetch. Bun and Deno get fetch even when run from sources that map undici in (tests).
 */
export function defaultTransport(pool: PoolFactory | undefined): TransportKind {
  const g = globalThis as { Bun?: unknown; Deno?: unknown };
  return pool === undefined || g.Bun !== undefined || g.Deno !== undefined ? 'fetch' : 'undici';
}

// The code undici gives a request on a closed pool, so the transport maps both senders' refusals alike.
const closedError = () => Object.assign(new Error('the client is closed'), { code: 'UND_ERR_CLOSED' });

export function fetchSender(): Sender {
  let closed = false;
  return {
    async send(r) {
      if (closed) throw closedError();
      // redirect 'manual': a 3xx is an answer to report, as with undici, never a hop to follow with the key.
      const res = await fetch(r.url, { method: r.method, headers: r.headers, body: r.body, signal: r.signal, redirect: 'manual' });
      const headers: Record<string, string> = {};
      res.headers.forEach((v, k) => {
        headers[k] = v;
      });
      return { status: res.status, headers, text: await res.text() };
    },
    async close() {
      closed = true;
    },
  };
}

/** One attempt through an undici Pool (or the caller's own dispatcher, which close() leaves open). */
export function undiciSender(dispatcher: Dispatcher, owns: boolean): Sender {
  return {
    async send(r) {
      const res = await dispatcher.request({
        origin: r.url.origin,
        path: r.url.pathname + r.url.search,
        method: r.method,
        headers: r.headers,
        body: r.body,
        signal: r.signal,
      });
      return { status: res.statusCode, headers: res.headers, text: await res.body.text() };
    },
    async close() {
      if (owns) await dispatcher.close();
    },
  };
}
