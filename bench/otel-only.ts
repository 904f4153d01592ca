// The instrumentation figure alone, for iterating on it: `tsx bench/otel-only.ts [--quick]`.
import { child, stop } from './lib';

const emu = await child('./emulator-proc.ts', {});
const r = await child('./otel-proc.ts', { EMU_URL: emu.info.url as string, EMU_KEY: emu.info.apiKey as string }, ['--expose-gc']);
await stop(r.proc);
await stop(emu.proc);
console.log(JSON.stringify(r.info, null, 2));
