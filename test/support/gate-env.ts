// One disposable "an emulator and a gate wired to it" for a test: `await using env = await gateEnv()`
// (as tRPC's test resources do), closed at the end of the block whatever the test did, in the
// right order (the gate first: it flushes to the emulator). Reports to onError are kept in `reported`.
//
//   gateEnv({ emulator, gate })   starts an emulator (startEmulator's options) and a gate on it (gateFor's).
//   gateEnv({ emu, gate })        a gate on an emulator the test already has: a second gate, a restarted
//                                 process, a file's emulator. Only the gate is closed with this env.
//   gate: { onError }             replaces the collector (`reported` then stays empty); `onError: undefined`
//                                 leaves the gate its own default (a line to the logger).
//   sharedGateEnv(opts)           one env for a file or a describe block: made in beforeAll, closed in afterAll.
import { afterAll, beforeAll } from 'vitest';
import type { Emulator, EmulatorOptions } from 'ecom9-gate/emulator';
import type { Gate, GateOptions } from 'ecom9-gate';
import { gateFor, startEmulator } from './env';

export interface GateEnvParts {
  emu: Emulator;
  gate: Gate;
  /** What the gate handed its onError, in order. */
  reported: unknown[];
}

export interface GateEnv extends GateEnvParts, AsyncDisposable {}

export type GateEnvOptions = { gate?: GateOptions } & (
  | { /** The emulator to start. */ emulator?: EmulatorOptions; emu?: undefined }
  | { /** An emulator to wire the gate to, left open when the env closes. */ emu: Emulator; emulator?: undefined }
);

export async function gateEnv(opts: GateEnvOptions = {}): Promise<GateEnv> {
  const own = opts.emu === undefined;
  const emu = opts.emu ?? (await startEmulator(opts.emulator));
  const reported: unknown[] = [];
  try {
    const gate = gateFor(emu, { onError: (e) => reported.push(e), ...opts.gate });
    return {
      emu,
      gate,
      reported,
      async [Symbol.asyncDispose]() {
        try {
          await gate.close();
        } finally {
          if (own) await emu.close();
        }
      },
    };
  } catch (err) {
    if (own) await emu.close();
    throw err;
  }
}

/**
 * gateEnv for every test of a file or a describe block, made in a beforeAll and closed in an afterAll
 * registered where it is called. Read its fields in tests and hooks (not while collecting them).
 * `opts` may be a function, for options known only once earlier hooks ran (a Redis URL, an emulator).
 */
export function sharedGateEnv(opts: GateEnvOptions | (() => GateEnvOptions) = {}): GateEnvParts {
  let env: GateEnv | undefined;
  beforeAll(async () => {
    env = await gateEnv(typeof opts === 'function' ? opts() : opts);
  });
  afterAll(async () => {
    const e = env;
    env = undefined;
    await e?.[Symbol.asyncDispose]();
  });
  const current = (): GateEnv => {
    if (env === undefined) throw new Error('sharedGateEnv: read it in a test or a hook: it is made in beforeAll');
    return env;
  };
  return {
    get emu() {
      return current().emu;
    },
    get gate() {
      return current().gate;
    },
    get reported() {
      return current().reported;
    },
  };
}
