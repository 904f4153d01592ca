// JSON-lines journal primitives shared by the usage spool and any other crash-safe record (holds):
// append one line synchronously (once it returns, the line survives a crash of the process: it is in
// the kernel's page cache), read every line back through a parser (a torn last line, or one that
// fails the parser, is skipped and counted, never fatal), and rewrite the file atomically.
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, renameSync, writeFileSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

/** Opens (creating its folder) a journal for appending; returns its file descriptor. */
export function openJournal(path: string): number {
  if (!existsSync(path)) mkdirSync(dirname(path), { recursive: true });
  return openSync(path, 'a');
}

/** Appends one value as a line, synchronously. */
export function appendLine(fd: number, value: unknown): void {
  writeSync(fd, `${JSON.stringify(value)}\n`);
}

/** Every line of the journal, through `parse` (which throws on a line it refuses). */
export function readLines<T>(path: string, parse: (json: unknown) => T): { lines: T[]; skipped: number } {
  const lines: T[] = [];
  let skipped = 0;
  if (!existsSync(path)) return { lines, skipped };
  for (const line of readFileSync(path, 'utf8').split('\n')) {
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
  if (!existsSync(dirname(path))) mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.tmp`;
  writeFileSync(tmp, values.map((v) => `${JSON.stringify(v)}\n`).join(''));
  renameSync(tmp, path);
}

export function closeJournal(fd: number): void {
  closeSync(fd);
}
