// The emulator in a process of its own, standing in for ecom9 across the network.
import { createEmulator } from '../src/emulator/index';

const emu = createEmulator();
// Accounts m-0 .. m-(N-1) on pro, for the memory benchmark.
for (let i = 0; i < Number(process.env.BENCH_ACCOUNTS ?? 0); i++) {
  emu.setAccount(`m-${i}`, { customerEmail: `owner-${i}@example.com`, subscriptions: [{ subscription: 'studio-suite', tier: 'pro' }] });
}
// A prepaid account with room for the holds benchmark's debits.
if (process.env.BENCH_CREDITS) {
  emu.setAccount('bench-credits', { customerEmail: 'credits@example.com' });
  emu.setCredits('bench-credits', 'ai-images', 'credits', Number(process.env.BENCH_CREDITS));
}
const url = await emu.listen(0);
process.stdout.write(`${JSON.stringify({ url, apiKey: emu.apiKey })}\n`);
process.on('SIGTERM', () => void emu.close().then(() => process.exit(0)));
