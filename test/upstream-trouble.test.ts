// ecom9 unreachable, refusing the key, or answering foreign 404s is said through logger.warn when it
// starts and when it ends, and reaches onError once: never a line per request. The emulator injects
// the faults; the clock is injected, so the "lasted N s" figure is exact. A cause ends at the first
// answer once it has not recurred for health.windowMs, so a flapping ecom9 is one episode.
import { describe, expect, it } from 'vitest';
import { MisconfigurationError, UpstreamUnreachableError } from 'ecom9-gate';
import { manualClock } from './support/env';
import { gateEnv } from './support/gate-env';

function recording() {
  const lines: string[] = [];
  return { lines, logger: { warn: (m: string) => void lines.push(m) } };
}

describe('upstream trouble, said when it starts and when it ends', () => {
  it('ecom9 down for 100 requests: two log lines (start, end) and one onError, whatever the number of requests', async () => {
    const clock = manualClock();
    const r = recording();
    await using env = await gateEnv({ gate: { now: clock.now, logger: r.logger, cache: { staleIfErrorMs: 0 } } });
    const { emu, gate, reported } = env;
    emu.inject({ kind: 'status', status: 503 });
    for (let i = 0; i < 100; i++) {
      expect((await gate.checkTier(`down-${i}`, { tiers: 'pro' })).code).toBe('upstream_unavailable');
      clock.advance(100);
    }
    expect(r.lines).toHaveLength(1);
    expect(r.lines[0]).toMatch(/^ecom9-gate: ecom9 is unreachable \(server_error 503 on accounts\.status\)/);
    emu.clearFaults();
    // One answer between failures is not the end (flapping)...
    expect((await gate.checkTier('acme', { tiers: 'pro' })).allowed).toBe(true);
    emu.inject({ kind: 'status', status: 503, times: 2 }); // the attempt and its retry
    expect((await gate.checkTier('flap', { tiers: 'pro' })).code).toBe('upstream_unavailable');
    expect(r.lines).toHaveLength(1);
    // ...an answer a health window after the last failure is.
    clock.advance(60_000);
    for (let i = 0; i < 10; i++) await gate.checkTier(`up-${i}`, { tiers: 'pro' });
    expect(r.lines).toHaveLength(2);
    expect(r.lines[1]).toBe('ecom9-gate: ecom9 is reachable again: the trouble lasted 10.0 s, 101 call(s) failed');
    expect(reported).toHaveLength(1);
    expect(reported[0]).toBeInstanceOf(UpstreamUnreachableError);
    expect(reported[0]).toMatchObject({ code: 'upstream_unreachable' });
  });

  it('the default onError does not say it twice: one line at the start, one at the end', async () => {
    const clock = manualClock();
    const r = recording();
    // onError: undefined, not the fixture's collector: the gate's default is what is tested.
    await using env = await gateEnv({ gate: { now: clock.now, logger: r.logger, onError: undefined } });
    const { emu, gate } = env;
    emu.inject({ kind: 'drop' });
    for (let i = 0; i < 20; i++) await gate.checkTier(`drop-${i}`, { tiers: 'pro' });
    emu.clearFaults();
    clock.advance(60_000);
    await gate.checkTier('acme', { tiers: 'pro' });
    expect(r.lines).toEqual([expect.stringMatching(/ecom9 is unreachable \(connection_failed/), expect.stringMatching(/reachable again/)]);
  });

  it('a refused key, then a foreign 404 with the configured URL in its hint: each said at its start and end', async () => {
    const clock = manualClock();
    const r = recording();
    await using env = await gateEnv({ gate: { now: clock.now, logger: r.logger } });
    const { emu, gate, reported } = env;
    emu.inject({ kind: 'status', status: 401, times: 30 });
    for (let i = 0; i < 30; i++) expect((await gate.checkTier(`k-${i}`, { tiers: 'pro' })).code).toBe('misconfigured');
    clock.advance(60_000);
    await gate.checkTier('acme', { tiers: 'pro' });
    emu.inject({ endpoint: 'entitlements.check', kind: 'status', status: 404, body: { detail: 'Not found.' }, times: 30 });
    for (let i = 0; i < 30; i++) await gate.checkEntitlement(`n-${i}`, { product: 'pro-api', entitlement: 'api_access' });
    clock.advance(60_000);
    await gate.checkEntitlement('acme', { product: 'pro-api', entitlement: 'api_access' });
    expect(r.lines).toEqual([
      expect.stringMatching(/ecom9 refused the API key/),
      expect.stringMatching(/ecom9 answers again \(was: ecom9 refused the API key/),
      expect.stringContaining(`answered 404 without ecom9's error body (check baseUrl) (baseUrl is ${emu.url}`),
      expect.stringMatching(/ecom9 answers again/),
    ]);
    expect(reported.map((e) => (e as Error).constructor)).toEqual([MisconfigurationError, MisconfigurationError]);
    expect(r.lines.join('\n')).not.toContain(emu.apiKey);
  });
});
