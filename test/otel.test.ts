// ecom9-gate/otel against the emulator over real HTTP: each metric and its attributes after an allow
// from cache, a deny from upstream, an upstream 503, a retry after a 429, webhooks and a usage
// delivery failure; one CLIENT span per attempt; no secret in any attribute; one gate's events only;
// stop() stops recording.
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Server } from 'node:http';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { MeterProvider, MetricReader, type DataPoint, type Histogram, type MetricData } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import express from 'express';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Gate, GateOptions } from 'ecom9-gate';
import type { Emulator } from 'ecom9-gate/emulator';
import { expressGate } from 'ecom9-gate/express';
import { instrumentGate } from 'ecom9-gate/otel';
import { gateFor, startEmulator } from './support/env';

const waitFor = (fn: () => unknown) => vi.waitFor(fn, { timeout: 5_000 });

/** A reader the test collects from when it wants to look. */
class TestReader extends MetricReader {
  protected override onForceFlush(): Promise<void> {
    return Promise.resolve();
  }
  protected override onShutdown(): Promise<void> {
    return Promise.resolve();
  }
}

let emu: Emulator;
let gate: Gate;
let server: Server;
let base: string;
let reader: TestReader;
let meterProvider: MeterProvider;
let spans: InMemorySpanExporter;
let tracerProvider: BasicTracerProvider;
let stop: () => void;

async function start(opts: GateOptions = {}): Promise<void> {
  gate = gateFor(emu, opts);
  const e = expressGate(gate, { accountRefId: (req) => req.get('x-account-id') });
  const app = express();
  app.use('/webhooks/ecom9', e.webhookRouter());
  app.get('/reports', e.requireTier('pro'), (_req, res) => void res.json({ ok: true }));
  server = app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  reader = new TestReader();
  meterProvider = new MeterProvider({ readers: [reader] });
  spans = new InMemorySpanExporter();
  tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] });
  stop = instrumentGate(gate, { meterProvider, tracerProvider });
}

const get = (path: string, account: string) => fetch(base + path, { headers: { 'x-account-id': account } });

async function collect(): Promise<MetricData[]> {
  const { resourceMetrics } = await reader.collect();
  return resourceMetrics.scopeMetrics.filter((s) => s.scope.name === 'ecom9-gate').flatMap((s) => s.metrics);
}

async function metric(name: string): Promise<MetricData | undefined> {
  return (await collect()).find((m) => m.descriptor.name === name);
}

/** The data points of a metric, each as its attributes plus its value. */
async function points(name: string): Promise<Array<Record<string, unknown>>> {
  const m = await metric(name);
  return (m?.dataPoints ?? []).map((p: DataPoint<unknown>) => ({ ...p.attributes, value: p.value }));
}

function upstreamSpans(): ReadableSpan[] {
  return spans.getFinishedSpans();
}

beforeAll(async () => {
  emu = await startEmulator();
});
afterAll(async () => {
  await emu.close();
});
beforeEach(() => {
  emu.clearFaults();
  emu.setAccount('acme', { customerEmail: 'a@example.com', subscriptions: [{ subscription: 'studio-suite', tier: 'pro' }] });
  emu.setAccount('free', { customerEmail: 'f@example.com', subscriptions: [] });
  emu.resetCalls();
});
afterEach(async () => {
  stop();
  await new Promise((r) => server.close(r));
  await gate.close();
  await meterProvider.shutdown();
  await tracerProvider.shutdown();
});

describe('decisions and upstream attempts', () => {
  beforeEach(() => start());

  it('counts an allow from upstream, then from cache, with one CLIENT span for the one call', async () => {
    expect((await get('/reports', 'acme')).status).toBe(200);
    expect((await get('/reports', 'acme')).status).toBe(200);
    expect(emu.callCount('accounts.status', 'acme')).toBe(1);

    const decisions = await metric('ecom9.gate.decisions');
    expect(decisions?.descriptor.unit).toBe('{decision}');
    expect(await points('ecom9.gate.decisions')).toEqual(
      expect.arrayContaining([
        { 'ecom9.decision.code': 'allowed', 'ecom9.decision.source': 'upstream', 'ecom9.decision.allowed': true, value: 1 },
        { 'ecom9.decision.code': 'allowed', 'ecom9.decision.source': 'cache', 'ecom9.decision.allowed': true, value: 1 },
      ]),
    );
    expect(await points('ecom9.gate.decisions')).toHaveLength(2);

    const duration = await metric('ecom9.gate.upstream.duration');
    expect(duration?.descriptor.unit).toBe('s');
    expect(duration?.dataPoints).toHaveLength(1);
    const point = duration?.dataPoints[0] as DataPoint<Histogram>;
    expect(point.attributes).toEqual({ 'ecom9.endpoint': 'accounts.status', 'http.response.status_code': 200 });
    expect(point.value.count).toBe(1);
    expect(point.value.sum).toBeGreaterThan(0);
    expect(point.value.sum).toBeLessThan(2);

    const [span, ...more] = upstreamSpans();
    expect(more).toHaveLength(0);
    expect(span?.name).toBe('ecom9 accounts.status');
    expect(span?.kind).toBe(SpanKind.CLIENT);
    const url = new URL(emu.url);
    expect(span?.attributes).toEqual({
      'http.request.method': 'GET',
      'server.address': '127.0.0.1',
      'server.port': Number(url.port),
      // The path names the account (not a secret); the query string is left out.
      'url.full': `${url.origin}/api/account/acme/status/`,
      'ecom9.endpoint': 'accounts.status',
      'http.response.status_code': 200,
    });
    expect(span?.status.code).toBe(SpanStatusCode.UNSET);

    expect(await points('ecom9.gate.cache.entries')).toEqual([{ value: 1 }]);
  });

  it('counts a deny from upstream', async () => {
    expect((await get('/reports', 'free')).status).toBe(403);
    expect(await points('ecom9.gate.decisions')).toEqual([
      { 'ecom9.decision.code': 'tier_required', 'ecom9.decision.source': 'upstream', 'ecom9.decision.allowed': false, value: 1 },
    ]);
  });

  it('records an upstream 503: two attempts, two error spans (the retry with its resend count), a 503 decision', async () => {
    emu.inject({ endpoint: 'accounts.status', kind: 'status', status: 503 });
    expect((await get('/reports', 'acme')).status).toBe(503);
    expect(emu.callCount('accounts.status', 'acme')).toBe(2);

    expect(await points('ecom9.gate.decisions')).toEqual([
      { 'ecom9.decision.code': 'upstream_unavailable', 'ecom9.decision.source': 'upstream', 'ecom9.decision.allowed': false, value: 1 },
    ]);
    const duration = await metric('ecom9.gate.upstream.duration');
    expect(duration?.dataPoints.map((p) => [p.attributes, (p.value as Histogram).count])).toEqual([
      [{ 'ecom9.endpoint': 'accounts.status', 'http.response.status_code': 503, 'error.type': '503' }, 2],
    ]);

    const [first, retry] = upstreamSpans();
    expect(upstreamSpans()).toHaveLength(2);
    for (const s of [first, retry]) {
      expect(s?.status.code).toBe(SpanStatusCode.ERROR);
      expect(s?.attributes['error.type']).toBe('503');
      expect(s?.attributes['http.response.status_code']).toBe(503);
      expect(s?.events.map((e) => e.name)).toEqual(['exception']);
    }
    expect(first?.attributes['http.request.resend_count']).toBeUndefined();
    expect(retry?.attributes['http.request.resend_count']).toBe(1);
  });

  it('shows a retry after a 429 as a second span with its resend count', async () => {
    emu.inject({ endpoint: 'accounts.status', kind: 'rate_limit', retryAfter: 0, times: 1 });
    expect((await get('/reports', 'acme')).status).toBe(200);
    const [limited, retry] = upstreamSpans();
    expect(upstreamSpans()).toHaveLength(2);
    expect(limited?.attributes).toMatchObject({ 'http.response.status_code': 429, 'error.type': '429' });
    expect(limited?.status.code).toBe(SpanStatusCode.ERROR);
    expect(retry?.attributes).toMatchObject({ 'http.response.status_code': 200, 'http.request.resend_count': 1 });
    expect(retry?.attributes['error.type']).toBeUndefined();
    expect(retry?.status.code).toBe(SpanStatusCode.UNSET);

    const duration = await metric('ecom9.gate.upstream.duration');
    expect(duration?.dataPoints.map((p) => p.attributes)).toEqual(
      expect.arrayContaining([
        { 'ecom9.endpoint': 'accounts.status', 'http.response.status_code': 429, 'error.type': '429' },
        { 'ecom9.endpoint': 'accounts.status', 'http.response.status_code': 200 },
      ]),
    );
    expect(await points('ecom9.gate.decisions')).toEqual([
      { 'ecom9.decision.code': 'allowed', 'ecom9.decision.source': 'upstream', 'ecom9.decision.allowed': true, value: 1 },
    ]);
  });

  it('names a connection failure by its error type, without a status code', async () => {
    emu.inject({ endpoint: 'accounts.status', kind: 'drop' });
    expect((await get('/reports', 'acme')).status).toBe(503);
    const [span] = upstreamSpans();
    expect(span?.attributes['error.type']).toBe('connection_failed');
    expect(span?.attributes['http.response.status_code']).toBeUndefined();
    expect(span?.status.code).toBe(SpanStatusCode.ERROR);
  });

  it('counts the credit decisions of debits', async () => {
    emu.setCredits('acme', 'ai-images', 'credits', 3);
    await gate.debitCredits({ accountRefId: 'acme', product: 'ai-images', meter: 'credits', quantity: 5, eventKey: 'k1' });
    expect(await points('ecom9.gate.decisions')).toEqual([
      { 'ecom9.decision.code': 'insufficient_credits', 'ecom9.decision.source': 'upstream', 'ecom9.decision.allowed': false, value: 1 },
    ]);
    expect(upstreamSpans().map((s) => s.name)).toContain('ecom9 credits.debit');
  });
});

describe('refreshes', () => {
  beforeEach(() => start({ cache: { refreshAheadMs: 6_000 } }));

  it('counts refreshes: the refetch after an invalidation, and one that failed', async () => {
    expect((await get('/reports', 'acme')).status).toBe(200);
    gate.invalidate('acme');
    await waitFor(async () =>
      expect(await points('ecom9.gate.cache.refreshes')).toEqual(expect.arrayContaining([{ 'ecom9.refresh.outcome': 'fetched', value: 1 }])),
    );
    // A check joins the refetch (or finds it done), so the refetched fact is in place before the next drop.
    expect((await get('/reports', 'acme')).status).toBe(200);
    expect(emu.callCount('accounts.status', 'acme')).toBe(2);
    emu.inject({ endpoint: 'accounts.status', kind: 'status', status: 500 });
    gate.invalidate('acme');
    await waitFor(async () =>
      expect(await points('ecom9.gate.cache.refreshes')).toEqual(expect.arrayContaining([{ 'ecom9.refresh.outcome': 'failed', value: 1 }])),
    );
  });
});

describe('webhooks', () => {
  beforeEach(() => start());

  it('counts each delivery by outcome: applied, duplicate, invalid signature', async () => {
    const hook = `${base}/webhooks/ecom9`;
    const payload = { event: 'subscription-cancelled', account_ref_id: 'acme', transaction_id: 'tx-otel-1' };
    expect((await emu.sendWebhook(hook, payload)).status).toBe(200);
    expect((await emu.sendWebhook(hook, payload)).status).toBe(200);
    const forged = emu.buildWebhook({ ...payload, transaction_id: 'tx-otel-2' });
    const r = await fetch(hook, {
      method: 'POST',
      headers: { ...forged.headers, 'webhook-signature': `v1,${Buffer.alloc(32).toString('base64')}` },
      body: forged.body,
    });
    expect(r.status).toBe(401);

    const webhooks = await metric('ecom9.gate.webhooks');
    expect(webhooks?.descriptor.unit).toBe('{delivery}');
    expect(await points('ecom9.gate.webhooks')).toEqual(
      expect.arrayContaining([
        { 'ecom9.webhook.outcome': 'applied', value: 1 },
        { 'ecom9.webhook.outcome': 'duplicate', value: 1 },
        { 'ecom9.webhook.outcome': 'invalid_signature', value: 1 },
      ]),
    );
    expect(await points('ecom9.gate.webhooks')).toHaveLength(3);
  });
});

describe('usage', () => {
  let dir: string;
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ecom9-otel-'));
    await start({ usage: { spoolPath: join(dir, 'usage.jsonl'), maxAttempts: 1, aggregateMs: 0 } });
  });
  afterEach(async () => {
    await gate.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('shows a usage delivery failure: the spooled and pending gauges, an error span', async () => {
    emu.inject({ endpoint: 'usage.record', kind: 'status', status: 503 });
    gate.recordUsage({ accountRefId: 'acme', product: 'api-access', meter: 'api_calls', quantity: 2 });
    expect(await points('ecom9.gate.usage.pending')).toEqual([{ value: 1 }]);
    await gate.flush();
    expect(await points('ecom9.gate.usage.pending')).toEqual([{ value: 0 }]);
    expect(await points('ecom9.gate.usage.spooled')).toEqual([{ value: 1 }]);
    const [span] = upstreamSpans();
    expect(span?.name).toBe('ecom9 usage.record');
    expect(span?.attributes).toMatchObject({ 'http.request.method': 'POST', 'error.type': '503' });
    expect(emu.usageTotal('acme', 'api-access', 'api_calls')).toBe(0);
  });
});

describe('what is never recorded, and whose', () => {
  it('holds no API key, webhook secret or request body in any attribute, event or metric', async () => {
    await start();
    emu.setCredits('acme', 'ai-images', 'credits', 100);
    emu.inject({ endpoint: 'accounts.status', kind: 'status', status: 401, times: 1 });
    await get('/reports', 'acme');
    await gate.debitCredits({ accountRefId: 'acme', product: 'ai-images', meter: 'credits', quantity: 5, eventKey: 'body-marker-key' });
    await emu.sendWebhook(`${base}/webhooks/ecom9`, { event: 'subscription-cancelled', account_ref_id: 'acme', transaction_id: 'tx-secret' });
    const recorded = JSON.stringify({
      spans: upstreamSpans().map((s) => ({ name: s.name, attributes: s.attributes, events: s.events, status: s.status })),
      metrics: await collect(),
    });
    expect(upstreamSpans().length).toBeGreaterThanOrEqual(2);
    expect(recorded).not.toContain(emu.apiKey);
    expect(recorded).not.toContain(emu.webhookSecret);
    expect(recorded).not.toContain(emu.webhookSecret.replace(/^whsec_/, ''));
    expect(recorded).not.toContain('body-marker-key');
    expect(recorded).not.toContain('Bearer');
  });

  it('records only the instrumented gate', async () => {
    await start();
    const other = gateFor(emu);
    try {
      await other.checkTier('acme', { tiers: 'pro' });
      await other.checkTier('acme', { tiers: 'pro' });
      expect(await points('ecom9.gate.decisions')).toEqual([]);
      expect(upstreamSpans()).toHaveLength(0);
      await gate.checkTier('acme', { tiers: 'pro' });
      expect(await points('ecom9.gate.decisions')).toHaveLength(1);
      expect(upstreamSpans()).toHaveLength(1);
    } finally {
      await other.close();
    }
  });

  it('stop() stops recording decisions, spans, webhooks and gauges', async () => {
    // No refetch after the webhooks: the upstream calls below are the checks' own.
    await start({ cache: { refreshAheadMs: 0 } });
    await get('/reports', 'acme');
    await emu.sendWebhook(`${base}/webhooks/ecom9`, { event: 'subscription-cancelled', account_ref_id: 'acme', transaction_id: 'tx-stop-1' });
    expect(upstreamSpans()).toHaveLength(1);
    expect(await points('ecom9.gate.webhooks')).toEqual([{ 'ecom9.webhook.outcome': 'applied', value: 1 }]);
    const decisionsBefore = await points('ecom9.gate.decisions');
    expect(decisionsBefore).toHaveLength(1);
    stop();
    await get('/reports', 'acme');
    await get('/reports', 'free');
    await emu.sendWebhook(`${base}/webhooks/ecom9`, { event: 'subscription-cancelled', account_ref_id: 'acme', transaction_id: 'tx-stop-2' });
    expect(emu.callCount('accounts.status')).toBe(3);
    expect(upstreamSpans()).toHaveLength(1);
    // The SDK keeps exporting what an asynchronous instrument last reported; nothing new is added.
    expect(await points('ecom9.gate.decisions')).toEqual(decisionsBefore);
    expect(await points('ecom9.gate.webhooks')).toEqual([{ 'ecom9.webhook.outcome': 'applied', value: 1 }]);
  });

  it('refuses something that is not a gate, or a bad option, naming it', async () => {
    expect(() => instrumentGate({} as Gate)).toThrow(/^ecom9-gate: instrumentGate\(gate\)/);
    await start();
    expect(() => instrumentGate(gate, { meterProvider: {} as MeterProvider })).toThrow(/^ecom9-gate: instrumentGate: "meterProvider"/);
    expect(() => instrumentGate(gate, { tracerProvider: 'x' as never })).toThrow(/^ecom9-gate: instrumentGate: "tracerProvider"/);
  });

  it('adds the attributes option to every metric point', async () => {
    await start();
    stop();
    stop = instrumentGate(gate, { meterProvider, tracerProvider, attributes: { 'ecom9.gate.name': 'billing' } });
    await get('/reports', 'acme');
    for (const name of ['ecom9.gate.decisions', 'ecom9.gate.upstream.duration', 'ecom9.gate.cache.entries', 'ecom9.gate.usage.pending']) {
      const m = await metric(name);
      expect(m?.dataPoints.length, name).toBeGreaterThan(0);
      for (const p of m?.dataPoints ?? []) expect(p.attributes['ecom9.gate.name'], name).toBe('billing');
    }
  });
});
