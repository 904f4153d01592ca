// Shared pieces of the benchmarks: child processes that print their URL, an autocannon run, medians.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';

export const quick = process.argv.includes('--quick');

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

/** Starts `bench/<file>` under tsx and resolves with the first JSON line it prints. */
export async function child(file: string, env: Record<string, string>, nodeArgs: string[] = []): Promise<{ proc: ChildProcess; info: Record<string, string> }> {
  const proc = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', fileURLToPath(new URL(file, import.meta.url))], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const info = await new Promise<Record<string, string>>((resolve, reject) => {
    let buf = '';
    proc.stdout?.on('data', (d: Buffer) => {
      buf += d.toString();
      const nl = buf.indexOf('\n');
      if (nl >= 0) resolve(JSON.parse(buf.slice(0, nl)));
    });
    proc.once('exit', (code) => reject(new Error(`${file} exited with ${code}`)));
  });
  return { proc, info };
}

export function stop(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null) return Promise.resolve();
  proc.kill('SIGTERM');
  return new Promise((r) => proc.once('exit', () => r()));
}

export interface Load {
  rps: number;
  ok: number;
  errors: number;
  /** The server's CPU time per answered request, in µs, when its pid was given. */
  cpuUs?: number;
}

/** A process's CPU time so far (user + system), in µs, from /proc (undefined where there is none). */
export function cpuTimeUs(pid: number): number | undefined {
  try {
    // The fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(f[11]) + Number(f[12])) * 1e6) / CLOCK_TICKS;
  } catch {
    return undefined;
  }
}
// USER_HZ, 100 on every Linux this runs on (getconf CLK_TCK).
const CLOCK_TICKS = 100;

/** One autocannon run: 50 connections for `seconds`; with `serverPid`, the server's CPU per request too. */
export async function load(url: string, seconds: number, headers: Record<string, string> = {}, serverPid?: number): Promise<Load> {
  const cpu0 = serverPid === undefined ? undefined : cpuTimeUs(serverPid);
  const r = await autocannon({ url, connections: 50, duration: seconds, headers });
  const cpu1 = serverPid === undefined ? undefined : cpuTimeUs(serverPid);
  const out: Load = { rps: r.requests.average, ok: r['2xx'], errors: r.errors + r.timeouts + r.non2xx };
  if (cpu0 !== undefined && cpu1 !== undefined && r['2xx'] > 0) out.cpuUs = (cpu1 - cpu0) / r['2xx'];
  return out;
}

/**
 * Alternates the two sides `rounds` times (flipping which goes first) and returns the median of the
 * per-round ratios `b / a`, with the medians of each side.
 */
export async function compare(a: () => Promise<Load>, b: () => Promise<Load>, rounds: number, afterB?: () => Promise<unknown>) {
  const ratios: number[] = [];
  const as: number[] = [];
  const bs: number[] = [];
  let okB = 0;
  let errors = 0;
  for (let i = 0; i < rounds; i++) {
    let x: Load;
    let y: Load;
    // afterB lets side b finish its background work (delivering usage) before side a runs again.
    if (i % 2 === 0) {
      x = await a();
      y = await b();
      await afterB?.();
    } else {
      y = await b();
      await afterB?.();
      x = await a();
    }
    as.push(x.rps);
    bs.push(y.rps);
    okB += y.ok;
    errors += x.errors + y.errors;
    ratios.push(y.rps / x.rps);
  }
  return { ratio: median(ratios), a: median(as), b: median(bs), okB, errors };
}

// Each loop starts from a collected heap (when run with --expose-gc), so one loop's garbage is not
// timed in the next.
const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});

/** Nanoseconds per call of a loop of `n` calls that `fn` runs itself. */
export function timeLoop(n: number, fn: () => void): number {
  gc();
  const t0 = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - t0) / n;
}

/** Nanoseconds per awaited call of `fn`, over `n` calls. */
export async function timeAwaited(n: number, fn: () => Promise<unknown>): Promise<number> {
  gc();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) await fn();
  return Number(process.hrtime.bigint() - t0) / n;
}

/**
 * `compare` with a reference side run in the same rounds (a route behind a middleware that does
 * nothing): the three go in every order in turn, so no side always follows another. Returns the
 * median ratios to `a`, and the spread of the reference's per-round ratios: the noise a gated ratio
 * sits in, measured against the same bare rounds.
 */
export async function compareWithReference(
  a: () => Promise<Load>,
  b: () => Promise<Load>,
  ref: () => Promise<Load>,
  rounds: number,
  afterB?: () => Promise<unknown>,
) {
  const orders = ['abr', 'rba', 'bar', 'arb', 'bra', 'rab'];
  const cpu: Record<'a' | 'b' | 'r', number[]> = { a: [], b: [], r: [] };
  const ratios: number[] = [];
  const refRatios: number[] = [];
  const vsRef: number[] = [];
  const as: number[] = [];
  const bs: number[] = [];
  let okB = 0;
  let errors = 0;
  for (let i = 0; i < rounds; i++) {
    const got: Record<string, Load> = {};
    for (const side of orders[i % orders.length] as string) {
      if (side === 'a') got.a = await a();
      else if (side === 'r') got.r = await ref();
      else {
        got.b = await b();
        await afterB?.();
      }
    }
    const { a: x, b: y, r: z } = got as Record<'a' | 'b' | 'r', Load>;
    as.push(x.rps);
    bs.push(y.rps);
    okB += y.ok;
    errors += x.errors + y.errors + z.errors;
    ratios.push(y.rps / x.rps);
    refRatios.push(z.rps / x.rps);
    vsRef.push(y.rps / z.rps);
    if (x.cpuUs !== undefined && y.cpuUs !== undefined && z.cpuUs !== undefined) {
      cpu.a.push(x.cpuUs);
      cpu.b.push(y.cpuUs);
      cpu.r.push(z.cpuUs);
    }
  }
  // CPU per request is what the server itself spent: steadier than throughput on a shared machine.
  const cpuUs = cpu.a.length === rounds ? { a: median(cpu.a), b: median(cpu.b), r: median(cpu.r) } : undefined;
  return {
    ratio: median(ratios),
    a: median(as),
    b: median(bs),
    okB,
    errors,
    refRatio: median(refRatios),
    refMin: Math.min(...refRatios),
    refMax: Math.max(...refRatios),
    vsRef: median(vsRef),
    cpuUs,
  };
}
