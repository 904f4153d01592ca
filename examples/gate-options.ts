// Gate options for the examples: real ecom9 when ECOM9_API_KEY is set, else the bundled emulator
// with its demo data, started here.
import { createEmulator } from 'ecom9-gate/emulator';
import type { GateOptions } from 'ecom9-gate';

export async function exampleGateOptions(): Promise<GateOptions> {
  if (process.env.ECOM9_API_KEY) return {};
  const emu = createEmulator();
  const url = await emu.listen(0);
  console.log(`ecom9 emulator on ${url}`);
  return { apiKey: emu.apiKey, baseUrl: url, webhookSecret: emu.webhookSecret };
}
