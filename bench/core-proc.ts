// The core benchmark in a process of its own, run with --expose-gc; prints its result as JSON.
import { coreBench } from './core';
import { webCoreBench } from './web-core';

const emu = { url: process.env.EMU_URL as string, apiKey: process.env.EMU_KEY as string };
const result = await coreBench(emu);
const web = await webCoreBench(emu);
process.stdout.write(`${JSON.stringify({ ...result, web })}\n`);
