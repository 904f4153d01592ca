// The diagnostics_channel events instrumentation is built on, as a subscriber sees them: the upstream
// tracingChannel's context per attempt (retries numbered, status and error filled in, no secret),
// and decisions of checks and debits, each naming its gate.
import diagnostics from 'node:diagnostics_channel';
import { describe, expect, it } from 'vitest';
import { CHANNELS, type DecisionEvent, type UpstreamAttempt } from 'ecom9-gate';
import { gateEnv } from './support/gate-env';

/** An emulator and a gate of the test's own; acme is on pro. */
async function acmeEnv() {
  const env = await gateEnv();
  env.emu.setAccount('acme', { customerEmail: 'a@example.com', subscriptions: [{ subscription: 'studio-suite', tier: 'pro' }] });
  return env;
}

/** Subscribes to the upstream tracingChannel for the length of `fn`; returns what each hook saw. */
async function traced(fn: () => Promise<unknown>) {
  const seen: Array<[string, UpstreamAttempt, number | undefined]> = [];
  const ch = diagnostics.tracingChannel<UpstreamAttempt>(CHANNELS.upstream);
  const hooks = {
    start: (c: UpstreamAttempt) => seen.push(['start', c, c.statusCode]),
    end: (c: UpstreamAttempt) => seen.push(['end', c, c.statusCode]),
    asyncStart: (c: UpstreamAttempt) => seen.push(['asyncStart', c, c.statusCode]),
    asyncEnd: (c: UpstreamAttempt) => seen.push(['asyncEnd', c, c.statusCode]),
    error: (c: UpstreamAttempt) => seen.push(['error', c, c.statusCode]),
  };
  ch.subscribe(hooks);
  try {
    await fn();
  } finally {
    ch.unsubscribe(hooks);
  }
  return seen;
}

describe('the upstream tracingChannel', () => {
  it('traces each attempt: start before the answer, asyncEnd with the status; a retry is numbered', async () => {
    await using env = await acmeEnv();
    const { emu, gate } = env;
    emu.inject({ endpoint: 'accounts.status', kind: 'status', status: 503, times: 1 });
    const seen = await traced(() => gate.checkTier('acme', { tiers: 'pro' }));
    expect(seen.map(([hook, c, statusAtHook]) => [hook, c.attempt, statusAtHook])).toEqual([
      ['start', 0, undefined],
      ['end', 0, undefined],
      ['error', 0, 503],
      ['asyncStart', 0, 503],
      ['asyncEnd', 0, 503],
      ['start', 1, undefined],
      ['end', 1, undefined],
      ['asyncStart', 1, 200],
      ['asyncEnd', 1, 200],
    ]);
    const [first, retry] = [seen[0]?.[1], seen[5]?.[1]];
    expect(first).toMatchObject({ client: gate.client, endpoint: 'accounts.status', method: 'GET', serverAddress: '127.0.0.1', attempt: 0 });
    expect((first?.error as { code?: string } | undefined)?.code).toBe('server_error');
    expect(retry?.error).toBeUndefined();
    expect(retry?.result).toMatchObject({ is_active: true });
    expect(first?.url).toBe(`${new URL(emu.url).origin}/api/account/acme/status/`);
    const { client: _client, result: _result, error: _error, ...plain } = first as UpstreamAttempt;
    expect(JSON.stringify(plain)).not.toContain(emu.apiKey);
  });

  // Two gates calling at once: each attempt names the client that made it, and so the account it asked about.
  it('names the client, so a subscriber can tell gates apart; without subscribers the calls still work', async () => {
    await using env = await acmeEnv();
    const { emu, gate } = env;
    emu.setAccount('beta', { customerEmail: 'b@example.com', subscriptions: [{ subscription: 'studio-suite', tier: 'pro' }] });
    {
      // A second gate on the same emulator, closed at the end of this block.
      await using otherEnv = await gateEnv({ emu });
      const other = otherEnv.gate;
      const seen = await traced(() => Promise.all([gate.checkTier('acme', { tiers: 'pro' }), other.checkTier('beta', { tiers: 'pro' })]));
      const starts = seen
        .filter(([hook]) => hook === 'start')
        .map(([, c]) => [c.client === gate.client ? 'gate' : c.client === other.client ? 'other' : '?', c.url]);
      expect(starts).toHaveLength(2);
      expect(starts).toEqual(
        expect.arrayContaining([
          ['gate', expect.stringContaining('/account/acme/')],
          ['other', expect.stringContaining('/account/beta/')],
        ]),
      );
    }
    expect(diagnostics.tracingChannel(CHANNELS.upstream).hasSubscribers).toBe(false);
    gate.invalidate('acme');
    expect((await gate.checkTier('acme', { tiers: 'pro' })).allowed).toBe(true);
  });
});

describe('the decision channel', () => {
  it('publishes the decision of each check and debit with its kind and gate', async () => {
    await using env = await acmeEnv();
    const { emu, gate } = env;
    emu.setEntitlement('acme', 'pro-api', 'api_access', true);
    emu.setCredits('acme', 'ai-images', 'credits', 10);
    const seen: DecisionEvent[] = [];
    const listener = (m: unknown) => seen.push(m as DecisionEvent);
    diagnostics.subscribe(CHANNELS.decision, listener);
    try {
      await gate.checkTier('acme', { tiers: 'pro' });
      expect(gate.tierCheck({ tiers: 'pro' }).peek('acme')?.allowed).toBe(true);
      await gate.checkEntitlement('acme', { product: 'pro-api', entitlement: 'api_access' });
      await gate.debitCredits({ accountRefId: 'acme', product: 'ai-images', meter: 'credits', quantity: 3, eventKey: 'e1' });
    } finally {
      diagnostics.unsubscribe(CHANNELS.decision, listener);
    }
    expect(seen.map((e) => [e.gate === gate, e.kind, e.decision.code, e.decision.source])).toEqual([
      [true, 'tier', 'allowed', 'upstream'],
      [true, 'tier', 'allowed', 'cache'],
      [true, 'entitlement', 'allowed', 'upstream'],
      [true, 'credits', 'allowed', 'upstream'],
    ]);
    expect(emu.credits('acme', 'ai-images', 'credits')).toBe(7);
  });
});
