// The core benchmark in a process of its own, run with --expose-gc; prints its result as JSON.
import { coreBench } from './core';

const result = await coreBench({ url: process.env.EMU_URL as string, apiKey: process.env.EMU_KEY as string });
process.stdout.write(`${JSON.stringify(result)}\n`);
