// Gate options for the examples: real ecom9 when ECOM9_API_KEY is set, else the bundled emulator
// with its demo data, started here; its console sends each change to the example's webhook route.
import { createEmulator } from 'ecom9-gate/emulator';
import type { GateOptions } from 'ecom9-gate';

export async function exampleGateOptions(): Promise<GateOptions> {
  if (process.env.ECOM9_API_KEY) return {};
  // Every example serves its webhook route at /webhooks/ecom9 on PORT (3000 unless set).
  const emu = createEmulator({ webhookUrls: [`http://127.0.0.1:${Number(process.env.PORT ?? 3000)}/webhooks/ecom9`] });
  const url = await emu.listen(0);
  console.log(`ecom9 emulator on ${url}  (its console: ${emu.consoleUrl})`);
  return { apiKey: emu.apiKey, baseUrl: url, webhookSecret: emu.webhookSecret };
}
