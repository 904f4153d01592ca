// A part of the HTTP benchmark, for iterating on one figure: `tsx bench/only.ts <route,...> <framework,...>`.
import { httpBench } from './http';
import { child, stop } from './lib';

const [routes = 'meter', frameworks = 'koa,fastify'] = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const emu = await child('./emulator-proc.ts', {});
await httpBench({ url: emu.info.url as string, apiKey: emu.info.apiKey as string }, routes.split(','), frameworks.split(','));
await stop(emu.proc);
