// Where the Bun and Deno binaries are (inside their npm packages, dev dependencies), and a way to run
// a script under one and collect its output. A missing binary fails loudly: CI must never skip them.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export const RUNTIMES = {
  bun: { pkg: '@oven/bun-linux-x64', bin: 'node_modules/@oven/bun-linux-x64/bin/bun' },
  deno: { pkg: '@deno/linux-x64-glibc', bin: 'node_modules/@deno/linux-x64-glibc/deno' },
} as const;
export type Runtime = keyof typeof RUNTIMES;

/** The runtime's binary, or an Error that says how to get it. */
export function runtimeBinary(rt: Runtime): string {
  const { pkg, bin } = RUNTIMES[rt];
  const path = `${ROOT}${bin}`;
  if (!existsSync(path)) {
    throw new Error(`${rt} is not installed: ${path} is missing. It comes with the dev dependency ${pkg} (linux-x64 only): run npm ci.`);
  }
  return path;
}

/**
 * The command line running a TypeScript file. Bun runs our TS sources (it honours tsconfig `paths`);
 * Deno runs what a Deno user imports, the built dist (found through package.json `exports`), and the
 * test file with --sloppy-imports for its extensionless relative imports.
 */
export function runtimeArgs(rt: Runtime, file: string): string[] {
  return rt === 'bun' ? [file] : ['run', '--allow-all', '--sloppy-imports', '--no-lock', '--quiet', file];
}

/** Fails when dist is missing, since Deno runs the built package. */
export function assertDistBuilt(): void {
  const dist = `${ROOT}dist/index.js`;
  if (!existsSync(dist)) throw new Error('dist/ is missing: run npm run build first (Deno runs the built package)');
}

export function runScript(
  rt: Runtime,
  file: string,
  env: Record<string, string>,
  timeoutMs = 30_000,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const proc = spawn(runtimeBinary(rt), runtimeArgs(rt, file), { cwd: ROOT, env: { ...process.env, NO_COLOR: '1', ...env } });
  let stdout = '';
  let stderr = '';
  proc.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => {
    const t = setTimeout(() => proc.kill('SIGKILL'), timeoutMs);
    proc.on('close', (code) => (clearTimeout(t), resolve({ code, stdout, stderr })));
  });
}

export interface RuntimeServer {
  urls: Record<string, string>;
  stop(): Promise<void>;
}

/**
 * Starts a server under the runtime and resolves once its stdout says where it listens: a JSON line of
 * URLs (test/runtime/serve.ts), or for an example the first `http://` URL it prints (as `urls.url`).
 */
export function startServer(rt: Runtime, file: string, env: Record<string, string>, args = runtimeArgs(rt, file), timeoutMs = 20_000): Promise<RuntimeServer> {
  const proc = spawn(runtimeBinary(rt), args, { cwd: ROOT, env: { ...process.env, NO_COLOR: '1', ...env } });
  let out = '';
  let err = '';
  proc.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const stop = () =>
    new Promise<void>((resolve) => {
      if (proc.exitCode !== null || proc.signalCode !== null) return resolve();
      const kill = setTimeout(() => proc.kill('SIGKILL'), 2_000);
      proc.once('exit', () => (clearTimeout(kill), resolve()));
      proc.kill('SIGTERM');
    });
  const parse = (): Record<string, string> | undefined => {
    const lines = out.split('\n').slice(0, -1);
    const json = lines.find((l) => l.startsWith('{'));
    if (json) return JSON.parse(json);
    const url = lines.map((l) => /listening|example on/i.test(l) && l.match(/http:\/\/127\.0\.0\.1:\d+/)?.[0]).find(Boolean);
    return url ? { url } : undefined;
  };
  return new Promise((resolve, reject) => {
    const fail = (why: string) => (clearTimeout(t), void stop(), reject(new Error(`${rt} ${file}: ${why}\n${err}`)));
    const t = setTimeout(() => fail(`no URL within ${timeoutMs} ms`), timeoutMs);
    proc.on('exit', (code) => fail(`exited (${code}) before listening`));
    proc.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const urls = parse();
      if (!urls) return;
      clearTimeout(t);
      proc.removeAllListeners('exit');
      resolve({ urls, stop });
    });
  });
}
