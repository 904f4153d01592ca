// One disposable "an emulator and a gate wired to it" for a test: `await using env = await gateEnv()`
// (as tRPC's test resources do), closed at the end of the block whatever the test did, in the
// right order (the gate first: it flushes to the emulator). Reports to onError are kept in `reported`.
import type { Emulator } from 'ecom9-gate/emulator';
import type { Gate, GateOptions } from 'ecom9-gate';
import { gateFor, startEmulator } from './env';

export interface GateEnv extends AsyncDisposable {
  emu: Emulator;
  gate: Gate;
  /** What the gate handed its onError, in order. */
  reported: unknown[];
}

export async function gateEnv(opts: { emulator?: Parameters<typeof startEmulator>[0]; gate?: GateOptions } = {}): Promise<GateEnv> {
  const emu = await startEmulator(opts.emulator);
  const reported: unknown[] = [];
  try {
    const gate = gateFor(emu, { onError: (e) => reported.push(e), ...opts.gate });
    return {
      emu,
      gate,
      reported,
      async [Symbol.asyncDispose]() {
        await gate.close();
        await emu.close();
      },
    };
  } catch (err) {
    await emu.close();
    throw err;
  }
}
