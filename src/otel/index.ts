// ecom9-gate/otel: OpenTelemetry metrics and spans for one gate, built on the package's
// diagnostics_channel events, so a gate nobody instruments pays nothing. Only @opentelemetry/api is
// imported: the app brings the SDK and its exporters.
import diagnostics from 'node:diagnostics_channel';
import { metrics, trace, type Attributes, type BatchObservableCallback, type MeterProvider, type TracerProvider } from '@opentelemetry/api';
import { upstreamChannel, type UpstreamAttempt } from '../client/diagnostics';
import type { Gate } from '../gate/create-gate';
import type { DecisionEvent, WebhookOutcomeEvent } from '../gate/events';
import { CHANNELS } from '../shared/stats';
import { DecisionTally } from './decision-tally';
import { UpstreamSpans } from './upstream-spans';
import { OptionsError } from '../shared/errors';
import { checkKnownKeys } from '../shared/strict-keys';

export interface InstrumentOptions {
  /** @default the global MeterProvider of @opentelemetry/api */
  meterProvider?: MeterProvider;
  /** @default the global TracerProvider of @opentelemetry/api */
  tracerProvider?: TracerProvider;
  /** Added to every metric point: tell two gates of one process apart, e.g. `{ 'ecom9.gate.name': 'billing' }`. */
  attributes?: Attributes;
}

/** Stops recording: unsubscribes from the gate's events and ends the spans still open. */
export type StopInstrumenting = () => void;

const INSTRUMENT_KEYS = ['meterProvider', 'tracerProvider', 'attributes'] satisfies (keyof InstrumentOptions)[];

export const INSTRUMENTATION_SCOPE = 'ecom9-gate';

// Buckets of OpenTelemetry's HTTP client duration, in seconds.
const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];

/**
 * Records the gate's metrics and a CLIENT span per attempt to ecom9. Only this gate's events are
 * recorded, however many gates the process runs. Instrumenting a gate twice records everything twice.
 */
export function instrumentGate(gate: Gate, options: InstrumentOptions = {}): StopInstrumenting {
  if (typeof gate !== 'object' || gate === null || typeof gate.stats !== 'function' || typeof gate.health !== 'function') {
    throw new OptionsError('ecom9-gate: instrumentGate(gate) needs a gate made by createGate()');
  }
  if (typeof options !== 'object' || options === null) throw new OptionsError('ecom9-gate: instrumentGate(gate, options): options must be an object');
  checkKnownKeys('instrumentGate', options, INSTRUMENT_KEYS);
  if (options.meterProvider !== undefined && typeof options.meterProvider?.getMeter !== 'function') {
    throw new OptionsError('ecom9-gate: instrumentGate: "meterProvider" must be a MeterProvider');
  }
  if (options.tracerProvider !== undefined && typeof options.tracerProvider?.getTracer !== 'function') {
    throw new OptionsError('ecom9-gate: instrumentGate: "tracerProvider" must be a TracerProvider');
  }
  if (options.attributes !== undefined && (typeof options.attributes !== 'object' || options.attributes === null)) {
    throw new OptionsError('ecom9-gate: instrumentGate: "attributes" must be an object');
  }
  const extra = options.attributes ?? {};
  const meter = (options.meterProvider ?? metrics.getMeterProvider()).getMeter(INSTRUMENTATION_SCOPE);
  const tracer = (options.tracerProvider ?? trace.getTracerProvider()).getTracer(INSTRUMENTATION_SCOPE);

  const decisions = meter.createObservableCounter('ecom9.gate.decisions', {
    description: 'Decisions returned by checks and debits, by code, source and outcome.',
    unit: '{decision}',
  });
  const duration = meter.createHistogram('ecom9.gate.upstream.duration', {
    description: 'Duration of each HTTP attempt to ecom9 (a retry is an attempt of its own).',
    unit: 's',
    advice: { explicitBucketBoundaries: DURATION_BUCKETS },
  });
  const cacheEntries = meter.createObservableGauge('ecom9.gate.cache.entries', { description: 'Entries in the gate cache.', unit: '{entry}' });
  const usagePending = meter.createObservableGauge('ecom9.gate.usage.pending', {
    description: 'Usage events recorded and not yet delivered or given up on.',
    unit: '{event}',
  });
  const usageSpooled = meter.createObservableGauge('ecom9.gate.usage.spooled', {
    description: 'Usage events given up on by this process and kept in the spool for the next start.',
    unit: '{event}',
  });
  const refreshes = meter.createObservableCounter('ecom9.gate.cache.refreshes', {
    description: 'Background fetches of recently read facts (ahead of expiry, or after an invalidation), by outcome.',
    unit: '{fetch}',
  });
  const webhooks = meter.createCounter('ecom9.gate.webhooks', { description: 'Webhook deliveries, by how they were answered.', unit: '{delivery}' });

  // A decision is the hot path: it only bumps a tally here, read by the SDK at collection time.
  const tally = new DecisionTally(extra);
  const observe: BatchObservableCallback = (r) => {
    const s = gate.stats();
    r.observe(cacheEntries, s.cacheSize, extra);
    r.observe(usagePending, s.usagePending, extra);
    r.observe(usageSpooled, gate.health().usage.spooled, extra);
    r.observe(refreshes, s.refreshes - s.refreshErrors, { ...extra, 'ecom9.refresh.outcome': 'fetched' });
    r.observe(refreshes, s.refreshErrors, { ...extra, 'ecom9.refresh.outcome': 'failed' });
    tally.report((value, attributes) => r.observe(decisions, value, attributes));
  };
  const observables = [decisions, cacheEntries, usagePending, usageSpooled, refreshes];
  meter.addBatchObservableCallback(observe, observables);

  const onDecision = (message: unknown): void => {
    const e = message as DecisionEvent;
    if (e.gate === gate) tally.add(e.decision);
  };
  const onWebhook = (message: unknown): void => {
    const e = message as WebhookOutcomeEvent;
    if (e.gate === gate) webhooks.add(1, { ...extra, 'ecom9.webhook.outcome': e.outcome });
  };
  const spans = new UpstreamSpans(tracer, duration, extra);
  const handlers = {
    start: (ctx: UpstreamAttempt) => {
      if (ctx.client === gate.client) spans.start(ctx);
    },
    asyncEnd: (ctx: UpstreamAttempt) => spans.end(ctx),
  };
  diagnostics.subscribe(CHANNELS.decision, onDecision);
  diagnostics.subscribe(CHANNELS.webhookOutcome, onWebhook);
  upstreamChannel?.subscribe(handlers as Parameters<NonNullable<typeof upstreamChannel>['subscribe']>[0]);

  let stopped = false;
  return () => {
    if (stopped) return;
    stopped = true;
    diagnostics.unsubscribe(CHANNELS.decision, onDecision);
    diagnostics.unsubscribe(CHANNELS.webhookOutcome, onWebhook);
    upstreamChannel?.unsubscribe(handlers as Parameters<NonNullable<typeof upstreamChannel>['unsubscribe']>[0]);
    meter.removeBatchObservableCallback(observe, observables);
    spans.endAll();
  };
}

// Every core type (src/types.ts), so a type this subpath's signatures name (and what those name in
// turn) is imported from here as from ecom9-gate.
export type * from '../types';
