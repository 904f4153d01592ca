// JSON-lines journal primitives shared by the usage spool and any other crash-safe record (holds):
// append one line synchronously (once it returns, the line survives a crash of the process: it is in
// the kernel's page cache), read every line back through a parser (a torn last line, or one that
// fails the parser, is skipped and counted, never fatal), and rewrite the file atomically. node:fs is
// taken from the runtime when a journal is first opened, so the core loads where there is no disk (the
// edge, where a journal is refused at start-up with an OptionsError).
import type * as Fs from 'node:fs';
import type * as Path from 'node:path';
import { OptionsError } from '../shared/errors';
import { nodeBuiltin, refuseOnEdge } from '../shared/runtime';

// Set by the first openJournal() (or read); everything below runs only after one succeeded.
let nodeFs: typeof Fs | undefined;
let nodePath: typeof Path | undefined;
function fs(): typeof Fs {
  if (nodeFs !== undefined) return nodeFs;
  refuseOnEdge('usage.spoolPath', 'a usage spool on disk', 'an isolate has no durable disk');
  nodeFs = nodeBuiltin('node:fs');
  nodePath ??= nodeBuiltin('node:path');
  if (!nodeFs || !nodePath) throw new OptionsError('ecom9-gate: usage.spoolPath: this runtime has no node:fs for a journal on disk; see docs/edge.md');
  return nodeFs;
}
const dirname = (p: string): string => (nodePath as typeof Path).dirname(p);

/** Opens (creating its folder) a journal for appending; returns its file descriptor. */
export function openJournal(path: string): number {
  const f = fs();
  if (!f.existsSync(path)) f.mkdirSync(dirname(path), { recursive: true });
  return f.openSync(path, 'a');
}

/** Appends one value as a line, synchronously. */
export function appendLine(fd: number, value: unknown): void {
  fs().writeSync(fd, `${JSON.stringify(value)}\n`);
}

/** Every line of the journal, through `parse` (which throws on a line it refuses). */
export function readLines<T>(path: string, parse: (json: unknown) => T): { lines: T[]; skipped: number } {
  const lines: T[] = [];
  let skipped = 0;
  const f = fs();
  if (!f.existsSync(path)) return { lines, skipped };
  for (const line of f.readFileSync(path, 'utf8').split('\n')) {
    if (line.trim() === '') continue;
    try {
      lines.push(parse(JSON.parse(line)));
    } catch {
      skipped++;
    }
  }
  return { lines, skipped };
}

/** Replaces the journal's content by these values, one per line, atomically (a temporary file, renamed). */
export function rewriteLines(path: string, values: readonly unknown[]): void {
  const f = fs();
  if (!f.existsSync(dirname(path))) f.mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.tmp`;
  f.writeFileSync(tmp, values.map((v) => `${JSON.stringify(v)}\n`).join(''));
  f.renameSync(tmp, path);
}

export function closeJournal(fd: number): void {
  fs().closeSync(fd);
}
