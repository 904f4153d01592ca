// The instrumentation benchmark in a process of its own, run with --expose-gc; prints its result as JSON.
import { otelBench } from './otel';

const result = await otelBench({ url: process.env.EMU_URL as string, apiKey: process.env.EMU_KEY as string });
process.stdout.write(`${JSON.stringify(result)}\n`);
