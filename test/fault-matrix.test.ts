// The fault matrix: every fault the emulator can inject, against every middleware in each of Express,
// Koa and Fastify. Each request makes exactly the calls the retry rules allow and ends within the time
// they allow; decisions follow the stale and failMode rules; no debit is charged twice (every ledger
// row carries the one key issued for its request); no usage is lost or counted twice.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Emulator, FaultSpec } from 'ecom9-gate/emulator';
import type { Gate, GateOptions, GateStats } from 'ecom9-gate';
import { manualClock, startEmulator } from './support/env';
import { gateEnv, sharedGateEnv } from './support/gate-env';
import { FRAMEWORKS, startApp, type RunningApp } from './support/apps';

const TIMEOUT_MS = 300;
const RETRIES = 1;
const BACKOFF_MAX_MS = 20;
const TTL_MS = 60_000;
const STALE_IF_ERROR_MS = 120_000;
// Room for a loaded 2-core machine, yet less than one more timed-out attempt (TIMEOUT_MS): one retry
// too many breaks the bound, as well as the call count.
const SLACK_MS = 280;
/** Usage sends that meet the fault before it clears. */
const FAULTED_SENDS = 4;

type Kind = FaultSpec['kind'];
interface FaultRow {
  name: string;
  fault: Omit<FaultSpec, 'endpoint'>;
  /** The client retries it (timeouts, connection errors, 5xx); a 429 asking 30 s and a bad body are final. */
  retried: boolean;
  /** ecom9 applies the request before the answer goes wrong (the effect is in the ledger). */
  applied: boolean;
}
const FAULTS: FaultRow[] = [
  { name: 'latency past the timeout', fault: { kind: 'latency', ms: 2_000 }, retried: true, applied: false },
  { name: 'a burst of 5xx', fault: { kind: 'status', status: 503 }, retried: true, applied: false },
  { name: 'a storm of 429 with Retry-After', fault: { kind: 'rate_limit', retryAfter: 30 }, retried: false, applied: false },
  { name: 'connections dropped', fault: { kind: 'drop' }, retried: true, applied: false },
  { name: 'connections dropped mid-response', fault: { kind: 'drop', dropAfterProcessing: true }, retried: true, applied: true },
  { name: 'malformed JSON', fault: { kind: 'malformed' }, retried: false, applied: true },
  { name: 'bodies that fail the schema', fault: { kind: 'bad_schema' }, retried: false, applied: true },
];

/** Calls one request makes to ecom9 while the fault lasts. */
const attempts = (f: FaultRow) => (f.retried ? RETRIES + 1 : 1);
/** The longest one request may take: each attempt up to the timeout (latency), the backoff between them, and slack. */
const boundMs = (f: FaultRow) => attempts(f) * (f.fault.kind === 'latency' ? TIMEOUT_MS : 0) + (attempts(f) - 1) * BACKOFF_MAX_MS + SLACK_MS;

let emu: Emulator;
beforeAll(async () => {
  emu = await startEmulator();
});
afterAll(async () => {
  await emu.close();
});

/** Options of a gate with the matrix's timeout, retries and cache windows (gateEnv's onError collects reports). */
function fast(opts: GateOptions = {}): GateOptions {
  return {
    http: { timeoutMs: TIMEOUT_MS, maxRetries: RETRIES, retryBaseMs: 10, retryMaxMs: BACKOFF_MAX_MS },
    cache: { ttlMs: TTL_MS, staleIfErrorMs: STALE_IF_ERROR_MS },
    ...opts,
  };
}

interface Timed {
  status: number;
  ms: number;
  body: Record<string, unknown>;
}
async function timed(url: string, init: RequestInit): Promise<Timed> {
  const t0 = performance.now();
  const res = await fetch(url, init);
  const body = (await res.json()) as Record<string, unknown>;
  return { status: res.status, ms: performance.now() - t0, body };
}

/** The decision's source, where the route shows it (`/tier` returns req.ecom9). */
const sourceOf = (r: Timed) => (r.body.ecom9 as { decision?: { source?: string } } | undefined)?.decision?.source;

const ENDPOINT = { '/tier': 'accounts.status', '/ent': 'entitlements.check' } as const;
type Path = keyof typeof ENDPOINT;
const PATHS = Object.keys(ENDPOINT) as Path[];

describe.each(FRAMEWORKS)('%s', (fw) => {
  describe.each(FAULTS)('$name', (row) => {
    const { fault } = row;
    const bound = boundMs(row);
    const clock = manualClock();
    // A closed gate and an open one on the file's emulator, for the block (closed after the apps).
    const closedEnv = sharedGateEnv(() => ({ emu, gate: fast({ now: clock.now }) }));
    const openEnv = sharedGateEnv(() => ({ emu, gate: fast({ now: clock.now, failMode: 'open' }) }));
    let gate: Gate;
    let open: Gate;
    let app: RunningApp;
    let openApp: RunningApp;
    const acc = `fm-${fw}-${fault.kind}-${fault.dropAfterProcessing ? 'late' : 'early'}`;
    const h = { 'x-account': acc };
    // The open gate has an account of its own, so both gates are asked at once and their calls to
    // ecom9 are counted apart.
    const accOpen = `${acc}-open`;
    interface Side {
      g: Gate;
      url: string;
      account: string;
    }
    let closedSide: Side;
    let openSide: Side;

    beforeAll(async () => {
      gate = closedEnv.gate;
      open = openEnv.gate;
      app = await startApp(fw, gate);
      openApp = await startApp(fw, open);
      closedSide = { g: gate, url: app.url, account: acc };
      openSide = { g: open, url: openApp.url, account: accOpen };
    });
    afterAll(async () => {
      await Promise.all([app.close(), openApp.close()]);
    });
    let ledgerStart = 0;
    beforeEach(() => {
      ledgerStart = emu.ledger.length;
      emu.clearFaults();
      emu.resetCalls();
      for (const a of [acc, accOpen]) {
        emu.setAccount(a, { customerEmail: 'f@example.com', subscriptions: [{ subscription: 'studio-suite', tier: 'pro' }] });
        emu.setEntitlement(a, 'pro-api', 'api_access', true);
        emu.setCredits(a, 'ai-images', 'credits', 100);
        gate.invalidate(a);
        open.invalidate(a);
      }
    });

    const injectOn = (endpoint: FaultSpec['endpoint'], accounts: string[], times?: number) => {
      for (const accountRefId of accounts) emu.inject({ ...fault, endpoint, accountRefId, ...(times ? { times } : {}) } as FaultSpec);
    };
    /** One request, checked for how many calls it made to ecom9 and (unless a warm-up) for its time bound. */
    async function call(s: Side, path: Path, calls: number, bounded = true): Promise<Timed> {
      const before = emu.callCount(ENDPOINT[path], s.account);
      const r = await timed(s.url + path, { headers: { 'x-account': s.account } });
      if (bounded) expect(r.ms).toBeLessThan(bound);
      expect(emu.callCount(ENDPOINT[path], s.account) - before).toBe(calls);
      return r;
    }
    /** Both gates at once; returns each answer and how its gate's counters moved. */
    async function both(path: Path, calls: number, bounded = true) {
      const sides = [closedSide, openSide];
      const before = sides.map((s) => s.g.stats());
      const answers = await Promise.all(sides.map((s) => call(s, path, calls, bounded)));
      const moved = (i: number, name: keyof GateStats) => (sides[i] as Side).g.stats()[name] - (before[i] as GateStats)[name];
      return { closed: answers[0] as Timed, open: answers[1] as Timed, moved };
    }
    const warm = async (path: Path) => {
      const r = await both(path, 1, false);
      expect([r.closed.status, r.open.status]).toEqual([200, 200]);
    };

    it.each(PATHS)('%s with nothing cached: closed answers 503, open allows (fallback), each after the allowed calls', async (path) => {
      injectOn(ENDPOINT[path], [acc, accOpen]);
      const r = await both(path, attempts(row));
      expect(r.closed.status).toBe(503);
      expect(r.closed.body.code).toBe('upstream_unavailable');
      expect(r.open.status).toBe(200);
      expect(r.moved(1, 'failOpenAllowed')).toBe(1);
      if (path === '/tier') expect(sourceOf(r.open)).toBe('fallback');
    });

    it.each(PATHS)('%s past the TTL, within staleIfErrorMs: closed and open both serve the stale decision', async (path) => {
      await warm(path);
      clock.advance(TTL_MS + 1_000);
      injectOn(ENDPOINT[path], [acc, accOpen]);
      const r = await both(path, attempts(row));
      for (const [i, answer] of [r.closed, r.open].entries()) {
        expect(answer.status).toBe(200);
        expect(r.moved(i, 'staleServed')).toBe(1);
        expect(r.moved(i, 'failOpenAllowed')).toBe(0);
        if (path === '/tier') expect(sourceOf(answer)).toBe('stale');
      }
    });

    it.each(PATHS)('%s past staleIfErrorMs: the stale entry is not served; closed answers 503, open allows (fallback)', async (path) => {
      await warm(path);
      clock.advance(STALE_IF_ERROR_MS + 1_000);
      injectOn(ENDPOINT[path], [acc, accOpen]);
      const r = await both(path, attempts(row));
      expect(r.closed.status).toBe(503);
      expect(r.closed.body.code).toBe('upstream_unavailable');
      expect(r.open.status).toBe(200);
      expect([r.moved(0, 'staleServed'), r.moved(1, 'staleServed')]).toEqual([0, 0]);
      expect(r.moved(1, 'failOpenAllowed')).toBe(1);
      if (path === '/tier') expect(sourceOf(r.open)).toBe('fallback');
    });

    /** Every debit call of the test carried one key (the one `answered` reports); the test added exactly `rows` ledger rows, under it. */
    function expectCharged(rows: number, answered?: Timed) {
      const sent = emu.calls.filter((c) => c.endpoint === 'credits.debit' && c.accountRefId === acc).map((c) => (c.body as { event_key: string }).event_key);
      expect(new Set(sent).size).toBe(1);
      const ledger = emu.ledger.slice(ledgerStart).filter((l) => l.accountRefId === acc);
      expect(ledger).toHaveLength(rows);
      for (const l of ledger) expect([l.eventKey, l.approved]).toEqual([sent[0], true]);
      if (answered) expect(sent[0]).toBe((answered.body.credits as { eventKey?: string } | undefined)?.eventKey);
      expect(emu.credits(acc, 'ai-images', 'credits')).toBe(100 - 5 * rows);
    }

    it('chargeCredits: a client retrying with its Idempotency-Key is charged once, under one key', async () => {
      injectOn('credits.debit', [acc], 2);
      emu.resetCalls();
      const headers = { ...h, 'idempotency-key': `fm-${Math.random()}` };
      const answers: Timed[] = [];
      // The client retries its request (same key) until it is answered: 503s first, then the one charge.
      for (let i = 0; i < 4 && answers.at(-1)?.status !== 200; i++) {
        const r = await timed(`${app.url}/images`, { method: 'POST', headers });
        expect(r.ms).toBeLessThan(bound);
        answers.push(r);
      }
      // The fault covers two calls: one request when the client retries, two when it does not.
      expect(answers.map((a) => a.status)).toEqual(row.retried ? [503, 200] : [503, 503, 200]);
      expect(emu.callCount('credits.debit', acc)).toBe(3);
      expectCharged(1, answers.at(-1));
    });

    it("chargeCredits without an Idempotency-Key: the package's own retries never charge twice", async () => {
      injectOn('credits.debit', [acc], 1);
      emu.resetCalls();
      const r = await timed(`${app.url}/images`, { method: 'POST', headers: h });
      expect(r.ms).toBeLessThan(bound);
      expect(emu.callCount('credits.debit', acc)).toBe(attempts(row));
      if (row.retried) {
        expect(r.status).toBe(200);
        expectCharged(1, r);
      } else {
        // A final error after ecom9 applied the debit: charged once, answered 503. Only a client retry
        // with the same Idempotency-Key can settle it (SECURITY.md).
        expect(r.status).toBe(503);
        expectCharged(row.applied ? 1 : 0);
      }
    });

    it('meterUsage: answers at once; every event arrives once the fault clears, none counted twice', async () => {
      const before = emu.usageTotal(acc, 'api-access', 'api_calls');
      const rowsBefore = emu.usageEvents.filter((e) => e.accountRefId === acc).length;
      emu.resetCalls();
      // The recorder waits as long as a 429 asks (usage.test.ts checks that with its own timer); here the
      // storm asks for 50 ms so that the wait ends within the test.
      const asks = fault.kind === 'rate_limit' ? { retryAfter: 0.05 } : {};
      emu.inject({ ...fault, ...asks, endpoint: 'usage.record', accountRefId: acc, times: FAULTED_SENDS } as FaultSpec);
      for (let i = 0; i < 3; i++) {
        const r = await timed(`${app.url}/metered`, { headers: h });
        expect(r.status).toBe(200);
        expect(r.ms).toBeLessThan(SLACK_MS);
      }
      await gate.flush();
      expect(emu.usageTotal(acc, 'api-access', 'api_calls') - before).toBe(3);
      expect(gate.stats().usageFailed).toBe(0);
      // Every attempt of an event carries its one key: the calls are the faulted ones plus one per key,
      // and each key that was sent is recorded exactly once.
      const sent = new Set(
        emu.calls.filter((c) => c.endpoint === 'usage.record' && c.accountRefId === acc).map((c) => (c.body as { event_key: string }).event_key),
      );
      expect(emu.callCount('usage.record', acc)).toBe(FAULTED_SENDS + sent.size);
      const recorded = emu.usageEvents.filter((e) => e.accountRefId === acc).slice(rowsBefore);
      expect(recorded.map((e) => e.eventKey).sort()).toEqual([...sent].sort());
    });
  });
});

describe('random faults at volume', () => {
  // A shorter timeout than the matrix (volume, not the bound, is under test here); a latency fault
  // always outlasts it.
  const VOLUME_TIMEOUT_MS = 200;
  const volumeGate = (opts: GateOptions = {}) =>
    gateEnv({ emu, gate: fast({ ...opts, http: { timeoutMs: VOLUME_TIMEOUT_MS, maxRetries: RETRIES, retryBaseMs: 10, retryMaxMs: BACKOFF_MAX_MS } }) });
  const kinds: Kind[] = ['status', 'rate_limit', 'drop', 'malformed', 'bad_schema', 'latency'];
  let seed = 20261124;
  const rand = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
  const randomFault = (endpoint: FaultSpec['endpoint']): FaultSpec => {
    const kind = kinds[Math.floor(rand() * kinds.length)] as Kind;
    return { endpoint, kind, times: 1, ms: VOLUME_TIMEOUT_MS + 100, status: 500 + Math.floor(rand() * 4), retryAfter: 0, dropAfterProcessing: rand() < 0.5 };
  };

  it('200 debits (each retried once by the client) under random faults: each charged once, under its own key', async () => {
    await using env = await volumeGate();
    const { gate } = env;
    const START = 1_000_000;
    emu.setAccount('volume', { customerEmail: 'v@example.com' });
    emu.setCredits('volume', 'ai-images', 'credits', START);
    const issued = new Set<string>();
    let answered = 0;
    for (let i = 0; i < 200; i++) {
      if (rand() < 0.6) emu.inject(randomFault('credits.debit'));
      const eventKey = `vol-${i}`;
      issued.add(eventKey);
      const input = { accountRefId: 'volume', product: 'ai-images', meter: 'credits', quantity: 3, eventKey };
      const d = (await gate.debitCredits(input)).allowed ? true : (await gate.debitCredits(input)).allowed;
      if (d) answered++;
    }
    emu.clearFaults();
    const rows = emu.ledger.filter((l) => l.accountRefId === 'volume');
    // One fault at most per request, so the client's one retry always gets an answer.
    expect(answered).toBe(200);
    expect(rows.filter((r) => !issued.has(r.eventKey))).toEqual([]);
    expect(rows.filter((r) => r.approved)).toHaveLength(200);
    expect(rows).toHaveLength(200);
    expect(emu.credits('volume', 'ai-images', 'credits')).toBe(START - 3 * 200);
  }, 60_000);

  it('1,000 usage events under random faults: 0 lost, 0 counted twice', async () => {
    await using env = await volumeGate({ usage: { retryBaseMs: 1, retryMaxMs: 5, maxAttempts: 50, concurrency: 8 } });
    const { gate } = env;
    emu.setAccount('volume-usage', { customerEmail: 'u@example.com' });
    for (let i = 0; i < 300; i++) emu.inject(randomFault('usage.record'));
    const issued = new Set<string>();
    for (let i = 0; i < 1_000; i++)
      issued.add(gate.recordUsage({ accountRefId: 'volume-usage', product: 'api-access', meter: 'api_calls', eventKey: `vu-${i}` }).eventKey);
    await gate.flush();
    emu.clearFaults();
    const events = emu.usageEvents.filter((e) => e.accountRefId === 'volume-usage');
    expect(events.filter((e) => !issued.has(e.eventKey))).toEqual([]);
    expect(new Set(events.map((e) => e.eventKey)).size).toBe(1_000);
    expect(emu.usageTotal('volume-usage', 'api-access', 'api_calls')).toBe(1_000);
    expect(gate.stats()).toMatchObject({ usageSent: 1_000, usageFailed: 0, usageDropped: 0 });
  }, 60_000);
});
