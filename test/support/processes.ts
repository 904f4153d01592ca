// Child processes for the multi-instance tests and benchmarks: each is a gated app printing JSON lines.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export interface Instance {
  url: string;
  proc: ChildProcessWithoutNullStreams;
  /** Every JSON line the instance printed so far. */
  lines: Array<Record<string, unknown>>;
  /** Resolves with the first line (from now on, or already seen when `past`) that matches. */
  waitFor(match: (l: Record<string, unknown>) => boolean, timeoutMs?: number, past?: boolean): Promise<Record<string, unknown>>;
  stop(): Promise<void>;
}

export async function startInstance(env: Record<string, string>, fixture = 'bus-child.ts'): Promise<Instance> {
  const proc = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL(`../fixtures/${fixture}`, import.meta.url))], {
    env: { ...process.env, ...env },
  }) as ChildProcessWithoutNullStreams;
  const lines: Array<Record<string, unknown>> = [];
  const waiters = new Set<{ match: (l: Record<string, unknown>) => boolean; resolve: (l: Record<string, unknown>) => void }>();
  let buf = '';
  proc.stdout.on('data', (d: Buffer) => {
    buf += d.toString();
    let nl = buf.indexOf('\n');
    while (nl >= 0) {
      const text = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      nl = buf.indexOf('\n');
      let line: Record<string, unknown>;
      try {
        line = JSON.parse(text);
      } catch {
        continue;
      }
      lines.push(line);
      for (const w of waiters) if (w.match(line)) waiters.delete(w), w.resolve(line);
    }
  });
  const waitFor = (match: (l: Record<string, unknown>) => boolean, timeoutMs = 10_000, past = false) => {
    if (past) {
      const seen = lines.find(match);
      if (seen) return Promise.resolve(seen);
    }
    return new Promise<Record<string, unknown>>((resolve, reject) => {
      const w = { match, resolve: (l: Record<string, unknown>) => (clearTimeout(t), resolve(l)) };
      const t = setTimeout(() => (waiters.delete(w), reject(new Error(`timed out waiting in child ${proc.pid}`))), timeoutMs);
      waiters.add(w);
    });
  };
  const first = await waitFor((l) => typeof l.url === 'string', 20_000, true);
  return {
    url: first.url as string,
    proc,
    lines,
    waitFor,
    async stop() {
      if (proc.exitCode !== null) return;
      proc.kill('SIGTERM');
      await new Promise((r) => proc.once('exit', r));
    },
  };
}
