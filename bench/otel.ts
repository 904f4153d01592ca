// What instrumentation costs a warm check (a prepared peek, what the middlewares run), sides
// interleaved and the order flipped each round, medians of the per-round differences:
// - instrumented: the same gate before instrumentGate and while instrumented (a real SDK
//   MeterProvider and TracerProvider behind it);
// - not instrumented: one more layer of the decision hook the gate wraps every check in, with
//   nobody subscribed (what an uninstrumented gate pays for being instrumentable).
import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider } from '@opentelemetry/sdk-trace-base';
import { createGate } from '../src/index';
import { observeCheck } from '../src/gate/events';
import { instrumentGate } from '../src/otel/index';
import { median, quick } from './lib';

const N = quick ? 200_000 : 1_000_000;
const ROUNDS = quick ? 5 : 11;
const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});

class Reader extends MetricReader {
  protected override onForceFlush(): Promise<void> {
    return Promise.resolve();
  }
  protected override onShutdown(): Promise<void> {
    return Promise.resolve();
  }
}

function time(fn: () => void): number {
  gc();
  const t0 = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - t0) / N;
}

export async function otelBench(emu: { url: string; apiKey: string }) {
  const gate = createGate({ apiKey: emu.apiKey, baseUrl: emu.url, cache: { ttlMs: 3_600_000 }, logger: { warn: () => {} } });
  await gate.checkTier('acme', { tiers: 'pro' });
  const check = gate.tierCheck({ tiers: 'pro' });
  const twice = observeCheck(check, 'tier', gate);
  const meterProvider = new MeterProvider({ readers: [new Reader()] });
  const tracerProvider = new BasicTracerProvider();
  let sink: unknown;
  const loop = (c: typeof check) => () => {
    for (let i = 0; i < N; i++) sink = c.peek('acme');
  };
  const plain: number[] = [];
  const instrumented: number[] = [];
  const hookless: number[] = [];
  const hooked: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const measureInstrumented = () => {
      const stop = instrumentGate(gate, { meterProvider, tracerProvider });
      instrumented.push(time(loop(check)));
      stop();
    };
    if (round % 2 === 0) {
      plain.push(time(loop(check)));
      measureInstrumented();
      hookless.push(time(loop(check)));
      hooked.push(time(loop(twice)));
    } else {
      measureInstrumented();
      plain.push(time(loop(check)));
      hooked.push(time(loop(twice)));
      hookless.push(time(loop(check)));
    }
  }
  void sink;
  await gate.close();
  await meterProvider.shutdown();
  const diff = (a: number[], b: number[]) => median(a.map((x, i) => x - (b[i] as number)));
  return {
    peekNs: median(plain),
    instrumentedPeekNs: median(instrumented),
    instrumentedAddsNs: diff(instrumented, plain),
    hookAddsNs: diff(hooked, hookless),
    // The spread of the plain side between rounds: what "within noise" means here.
    noiseNs: median(hookless.map((x, i) => Math.abs(x - (plain[i] as number)))),
  };
}
