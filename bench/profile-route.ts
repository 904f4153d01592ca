// Profiles one framework's server under load on one route: `tsx bench/profile-route.ts <framework> <route> [seconds]`.
// Writes a .cpuprofile into .tmp/prof/ (open it in Chrome DevTools, or read its top functions).
import { mkdirSync } from 'node:fs';
import { child, load, stop } from './lib';

const [framework = 'koa', route = 'meter', secs = '5'] = process.argv.slice(2);
mkdirSync('.tmp/prof', { recursive: true });
const emu = await child('./emulator-proc.ts', {});
const server = await child('./server.ts', { FRAMEWORK: framework, EMU_URL: emu.info.url as string, EMU_KEY: emu.info.apiKey as string }, [
  '--cpu-prof',
  '--cpu-prof-dir=.tmp/prof',
]);
const h = { 'x-account': 'acme' };
await load(`${server.info.url}/${route}`, 1, h);
const r = await load(`${server.info.url}/${route}`, Number(secs), h);
console.log(`${framework} /${route}: ${r.rps.toFixed(0)} req/s`);
server.proc.kill('SIGINT');
await new Promise((res) => server.proc.once('exit', res));
await stop(emu.proc);
