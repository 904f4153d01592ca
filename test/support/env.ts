// Shared test scaffolding: an emulator on loopback, a gate pointed at it, and a clock tests move by hand.
import { createEmulator, type Emulator } from 'ecom9-gate/emulator';
import { createGate, type Gate, type GateOptions } from 'ecom9-gate';

/** A hand-moved clock. It starts far from 0: lru-cache treats a start time of 0 as "no TTL". */
export function manualClock(start = 1_700_000_000_000) {
  let t = start;
  return {
    now: () => t,
    advance(ms: number) {
      t += ms;
    },
  };
}

export async function startEmulator(opts: Parameters<typeof createEmulator>[0] = {}): Promise<Emulator> {
  const emu = createEmulator(opts);
  await emu.listen(0, '127.0.0.1');
  return emu;
}

/**
 * A gate on the emulator with fast retries, so failure paths run in milliseconds. Refresh ahead is off
 * unless a test turns it on: its background fetches outlive the test that caused them and would land
 * in the next one's call counts (test/refresh-ahead.test.ts covers it).
 */
export function gateFor(emu: Emulator, opts: GateOptions = {}): Gate {
  return createGate({
    apiKey: emu.apiKey,
    baseUrl: emu.url,
    webhookSecret: emu.webhookSecret,
    logger: { warn: () => {} },
    ...opts,
    cache: { refreshAheadMs: 0, ...opts.cache },
    http: { timeoutMs: 2_000, maxRetries: 1, retryBaseMs: 1, retryMaxMs: 5, ...opts.http },
    usage: { retryBaseMs: 1, retryMaxMs: 5, ...opts.usage },
  });
}
