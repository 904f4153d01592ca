// What an open console page costs the emulator: ecom9 status calls per second with and without a
// poller doing what the page does (the calls since the last one, twice a second, and the state when
// any arrived), as a ratio in one run; then one read of each with the call log full.
// `npx tsx bench/emulator-console.ts [--quick]`.
import { child, compare, load, quick, stop } from './lib';

const { proc, info } = await child('emulator-proc.ts', {});
const { url, apiKey } = info as { url: string; apiKey: string };
const consoleApi = `${url.replace(/api\/$/, '')}__emulator/`;
const auth = { authorization: `Bearer ${apiKey}` };
const seconds = quick ? 1 : 3;
const rounds = quick ? 2 : 4;

async function withPoller(): Promise<Awaited<ReturnType<typeof load>>> {
  let last = 0;
  let on = true;
  const poll = async () => {
    while (on) {
      const r = (await (await fetch(`${consoleApi}calls?limit=100&after=${last}`, { headers: auth })).json()) as { calls: unknown[]; last: number };
      if (r.calls.length) await (await fetch(`${consoleApi}state`, { headers: auth })).arrayBuffer();
      last = r.last;
      await new Promise((r) => setTimeout(r, 500));
    }
  };
  const polling = poll();
  const result = await load(`${url}account/acme/status/`, seconds, { 'x-api-key': apiKey });
  on = false;
  await polling;
  return result;
}

const r = await compare(() => load(`${url}account/acme/status/`, seconds, { 'x-api-key': apiKey }), withPoller, rounds);
console.log(`emulator status calls/s: ${r.a.toFixed(0)} alone, ${r.b.toFixed(0)} with the console polling: ratio ${r.ratio.toFixed(3)} (errors ${r.errors})`);

async function timed(path: string): Promise<string> {
  const t = performance.now();
  const bytes = (await (await fetch(`${consoleApi}${path}`, { headers: auth })).arrayBuffer()).byteLength;
  return `${(performance.now() - t).toFixed(1)} ms (${(bytes / 1024).toFixed(0)} KiB)`;
}
console.log(`with the call log full: GET calls?after=0&limit=100 ${await timed('calls?after=0&limit=100')}, GET state ${await timed('state')}`);
await stop(proc);
