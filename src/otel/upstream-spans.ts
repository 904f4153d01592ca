// One CLIENT span per HTTP attempt to ecom9, with the HTTP semantic-convention attributes, and the
// attempt's duration in the upstream histogram. Nothing here reads a header or a body: the API key
// and the request body never reach an attribute.
import { context, SpanKind, SpanStatusCode, type Attributes, type Histogram, type Span, type Tracer } from '@opentelemetry/api';
import type { UpstreamAttempt } from '../client/diagnostics';

export class UpstreamSpans {
  // The open spans by attempt, so stop() can end them (a Map, not a WeakMap, to be able to).
  private readonly open = new Map<UpstreamAttempt, Span>();

  constructor(
    private readonly tracer: Tracer,
    private readonly duration: Histogram,
    private readonly extra: Attributes,
  ) {}

  start(a: UpstreamAttempt): void {
    const attributes: Attributes = {
      'http.request.method': a.method,
      'server.address': a.serverAddress,
      'server.port': a.serverPort,
      'url.full': a.url,
      'ecom9.endpoint': a.endpoint,
    };
    if (a.attempt > 0) attributes['http.request.resend_count'] = a.attempt;
    // Started in the caller's context (start runs synchronously in it): the span joins the request's trace.
    this.open.set(a, this.tracer.startSpan(`ecom9 ${a.endpoint}`, { kind: SpanKind.CLIENT, attributes }, context.active()));
  }

  end(a: UpstreamAttempt): void {
    const span = this.open.get(a);
    if (span === undefined) return;
    this.open.delete(a);
    const errorType = errorTypeOf(a);
    const attributes: Attributes = { ...this.extra, 'ecom9.endpoint': a.endpoint };
    if (a.statusCode !== undefined) {
      attributes['http.response.status_code'] = a.statusCode;
      span.setAttribute('http.response.status_code', a.statusCode);
    }
    if (errorType !== undefined) {
      attributes['error.type'] = errorType;
      span.setAttribute('error.type', errorType);
      const err = a.error as { name?: unknown; message?: unknown } | undefined;
      // The package's errors never carry the key; name and message only, no cause (undici's may quote a header).
      if (err !== undefined) span.recordException({ name: String(err.name ?? 'Error'), message: String(err.message ?? '') });
      span.setStatus({ code: SpanStatusCode.ERROR, ...(typeof err?.message === 'string' ? { message: err.message } : {}) });
    }
    this.duration.record((performance.now() - a.startedAt) / 1000, attributes);
    span.end();
  }

  /** Ends what is still open (stop() was called during attempts). */
  endAll(): void {
    for (const span of this.open.values()) span.end();
    this.open.clear();
  }
}

/**
 * The semantic conventions' error.type: the status code when ecom9 answered 4xx/5xx, else the
 * package's error code (`timeout`, `connection_failed`, `invalid_response`, ...).
 */
function errorTypeOf(a: UpstreamAttempt): string | undefined {
  if (a.statusCode !== undefined && a.statusCode >= 400) return String(a.statusCode);
  if (a.error === undefined) return undefined;
  const e = a.error as { code?: unknown; name?: unknown } | null;
  if (typeof e?.code === 'string') return e.code;
  return typeof e?.name === 'string' ? e.name : '_OTHER';
}
