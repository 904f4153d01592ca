// A JSON-lines journal of usage events, so that events not delivered when the process stops are sent
// on the next start. Each accepted event is appended before it is sent and marked done once delivered
// (or refused by ecom9 for good); the event_key makes a replay of an event ecom9 already counted
// harmless. The journal is the only record of what is pending: compaction replays it, so an event
// kept for the next start needs no copy in memory. One journal belongs to one process. node:fs is
// taken from the runtime when a journal is opened, so the core loads where there is no disk (the edge).
import type * as Fs from 'node:fs';
import { z } from 'zod';
import { OptionsError } from '../shared/errors';
import { nodeBuiltin, refuseOnEdge } from '../shared/runtime';
import { codeSchema, quantitySchema } from '../shared/rules';

export const usageEventSchema = z.object({
  accountRefId: z.string().min(1),
  product: codeSchema,
  meter: codeSchema,
  quantity: quantitySchema,
  eventKey: z.string().min(1),
  metadata: z.record(z.string(), z.unknown()).optional(),
});

export type SpooledEvent = z.infer<typeof usageEventSchema>;

/** An event read back from the journal, and how many recorded events it carries (more for a sum). */
export interface PendingEvent {
  event: SpooledEvent;
  count: number;
}

// add: one event to send (`n`: how many recorded events it sums, when more than 1); done: delivered
// or refused for good; agg: one event that replaces several journaled ones (written as one line, so a
// crash leaves either the aggregate or its parts, never both).
const lineSchema = z.union([
  z.object({ add: usageEventSchema, n: z.number().int().positive().optional() }),
  z.object({ done: z.string().min(1) }),
  z.object({ agg: usageEventSchema, of: z.array(z.string().min(1)) }),
]);

// Done-marks past which the journal is rewritten with only its pending events.
const COMPACT_AFTER = 10_000;

// Set by the first open(); everything below runs only after one succeeded.
let nodeFs: typeof Fs | undefined;
const fs = (): typeof Fs => nodeFs as typeof Fs;

export class Spool {
  private fd: number;
  private doneSinceCompact = 0;

  private constructor(
    private readonly path: string,
    fd: number,
  ) {
    this.fd = fd;
  }

  /**
   * Opens the journal and returns the events still pending in it. A torn last line (a crash mid-write)
   * and lines that fail the schema are skipped, never fatal; `skipped` says how many.
   */
  static open(path: string): { spool: Spool; pending: PendingEvent[]; skipped: number } {
    refuseOnEdge('usage.spoolPath', 'a usage spool on disk', 'an isolate has no durable disk');
    nodeFs ??= nodeBuiltin('node:fs');
    const nodePath = nodeBuiltin('node:path');
    if (!nodeFs || !nodePath) throw new OptionsError('ecom9-gate: usage.spoolPath: this runtime has no node:fs for a usage spool on disk; see docs/edge.md');
    if (!nodeFs.existsSync(path)) nodeFs.mkdirSync(nodePath.dirname(path), { recursive: true });
    const { pending, skipped } = replay(path);
    rewrite(path, pending);
    return { spool: new Spool(path, nodeFs.openSync(path, 'a')), pending, skipped };
  }

  /** Written synchronously: once `recordUsage` returns, the event survives a crash of the process. */
  add(event: SpooledEvent): void {
    fs().writeSync(this.fd, `${JSON.stringify({ add: event })}\n`);
  }

  /** Replaces journaled events (by key) by their aggregate, in one line. */
  aggregate(event: SpooledEvent, of: string[]): void {
    fs().writeSync(this.fd, `${JSON.stringify({ agg: event, of })}\n`);
  }

  done(eventKey: string): void {
    fs().writeSync(this.fd, `${JSON.stringify({ done: eventKey })}\n`);
    if (++this.doneSinceCompact >= COMPACT_AFTER) this.compact();
  }

  /** Rewrites the journal with only what is still pending in it (atomically, by rename). */
  compact(): void {
    fs().closeSync(this.fd);
    rewrite(this.path, replay(this.path).pending);
    this.fd = fs().openSync(this.path, 'a');
    this.doneSinceCompact = 0;
  }

  /** Compacts and closes: what is not marked done stays for the next start. */
  close(): void {
    this.compact();
    fs().closeSync(this.fd);
    this.fd = -1;
  }
}

function replay(path: string): { pending: PendingEvent[]; skipped: number } {
  const pending = new Map<string, PendingEvent>();
  let skipped = 0;
  if (!fs().existsSync(path)) return { pending: [], skipped };
  for (const line of fs().readFileSync(path, 'utf8').split('\n')) {
    if (line.trim() === '') continue;
    let parsed: z.infer<typeof lineSchema>;
    try {
      parsed = lineSchema.parse(JSON.parse(line));
    } catch {
      skipped++;
      continue;
    }
    if ('add' in parsed) pending.set(parsed.add.eventKey, { event: parsed.add, count: parsed.n ?? 1 });
    else if ('agg' in parsed) {
      for (const k of parsed.of) pending.delete(k);
      pending.set(parsed.agg.eventKey, { event: parsed.agg, count: Math.max(1, parsed.of.length) });
    } else pending.delete(parsed.done);
  }
  return { pending: [...pending.values()], skipped };
}

function rewrite(path: string, pending: PendingEvent[]): void {
  const tmp = `${path}.tmp`;
  fs().writeFileSync(tmp, pending.map((p) => `${JSON.stringify(p.count > 1 ? { add: p.event, n: p.count } : { add: p.event })}\n`).join(''));
  fs().renameSync(tmp, path);
}
