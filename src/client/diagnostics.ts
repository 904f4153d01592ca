// Each HTTP attempt to ecom9 as a node:diagnostics_channel tracingChannel (where the runtime has one),
// so instrumentation (ours in ecom9-gate/otel, or an APM's) can wrap it in a span. Nothing is built
// unless someone subscribes.
import type { TracingChannel } from 'node:diagnostics_channel';
import { tracingChannel } from '../shared/channels';
import type { EndpointName } from '../shared/endpoints';

/**
 * The context of one attempt, published on `tracing:ecom9-gate:upstream:start` and again, filled in,
 * on `:end`, `:asyncStart`, `:asyncEnd` (and `:error`). It never holds the API key (a header) or the
 * request body.
 */
export interface UpstreamAttempt {
  /** The client that made the call: `gate.client` for a gate's own calls. */
  readonly client: object | undefined;
  readonly endpoint: EndpointName;
  readonly method: 'GET' | 'POST';
  /** The URL without its query string. */
  readonly url: string;
  readonly serverAddress: string;
  readonly serverPort: number;
  /** 0 for the first attempt, n for the n-th retry of the same call. */
  readonly attempt: number;
  /** When the attempt started, from performance.now(). */
  readonly startedAt: number;
  /** Set as soon as ecom9 answered, whatever the status. */
  statusCode?: number;
  /** Set by the channel when the attempt rejected: an Ecom9Error. */
  error?: unknown;
  /** Set by the channel when the attempt resolved. */
  result?: unknown;
}

// Where the runtime lacks tracingChannel (workerd without nodejs_compat, Vercel Edge), nothing is traced.
export const upstreamChannel: TracingChannel<UpstreamAttempt> | undefined = tracingChannel<UpstreamAttempt>('ecom9-gate:upstream');

/** True when someone listens to the upstream attempts (one property read when nobody does). */
export function tracingUpstream(): boolean {
  return upstreamChannel?.hasSubscribers === true;
}

const DEFAULT_PORTS: Record<string, number> = { 'http:': 80, 'https:': 443 };

export function attemptContext(client: object | undefined, endpoint: EndpointName, method: 'GET' | 'POST', url: URL, attempt: number): UpstreamAttempt {
  return {
    client,
    endpoint,
    method,
    url: url.origin + url.pathname,
    serverAddress: url.hostname,
    serverPort: url.port === '' ? (DEFAULT_PORTS[url.protocol] ?? 0) : Number(url.port),
    attempt,
    startedAt: performance.now(),
  };
}
