// A JSON-lines journal of usage events, so that events queued when the process dies are sent on the
// next start. Each accepted event is appended before it is sent and marked done once delivered or
// given up on; the event_key makes a replay of an event ecom9 already counted harmless.
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, renameSync, writeFileSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { z } from 'zod';

export const usageEventSchema = z.object({
  accountRefId: z.string().min(1),
  product: z.string().min(1),
  meter: z.string().min(1),
  quantity: z.number().int().positive(),
  eventKey: z.string().min(1),
  metadata: z.record(z.string(), z.unknown()).optional(),
});

export type SpooledEvent = z.infer<typeof usageEventSchema>;

// add: one event to send; done: delivered or given up on; agg: one event that replaces several
// journaled ones (written as one line, so a crash leaves either the aggregate or its parts, never both).
const lineSchema = z.union([
  z.object({ add: usageEventSchema }),
  z.object({ done: z.string().min(1) }),
  z.object({ agg: usageEventSchema, of: z.array(z.string().min(1)) }),
]);

// Done-marks past which the journal is rewritten with only its pending events.
const COMPACT_AFTER = 10_000;

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
   * and lines that fail the schema are skipped, never fatal.
   */
  static open(path: string): { spool: Spool; pending: SpooledEvent[]; skipped: number } {
    const pending = new Map<string, SpooledEvent>();
    let skipped = 0;
    if (existsSync(path)) {
      for (const line of readFileSync(path, 'utf8').split('\n')) {
        if (line.trim() === '') continue;
        let parsed: z.infer<typeof lineSchema>;
        try {
          parsed = lineSchema.parse(JSON.parse(line));
        } catch {
          skipped++;
          continue;
        }
        if ('add' in parsed) pending.set(parsed.add.eventKey, parsed.add);
        else if ('agg' in parsed) {
          for (const k of parsed.of) pending.delete(k);
          pending.set(parsed.agg.eventKey, parsed.agg);
        } else pending.delete(parsed.done);
      }
    } else {
      mkdirSync(dirname(path), { recursive: true });
    }
    const events = [...pending.values()];
    rewrite(path, events);
    return { spool: new Spool(path, openSync(path, 'a')), pending: events, skipped };
  }

  /** Written synchronously: once `recordUsage` returns, the event survives a crash of the process. */
  add(event: SpooledEvent): void {
    writeSync(this.fd, `${JSON.stringify({ add: event })}\n`);
  }

  /** Replaces journaled events by their aggregate, in one line. */
  aggregate(event: SpooledEvent, of: SpooledEvent[]): void {
    writeSync(this.fd, `${JSON.stringify({ agg: event, of: of.map((e) => e.eventKey) })}\n`);
  }

  done(eventKey: string, pendingNow: () => SpooledEvent[]): void {
    writeSync(this.fd, `${JSON.stringify({ done: eventKey })}\n`);
    if (++this.doneSinceCompact >= COMPACT_AFTER) this.compact(pendingNow());
  }

  /** Rewrites the journal with only what is still pending (atomically, by rename). */
  compact(pending: SpooledEvent[]): void {
    closeSync(this.fd);
    rewrite(this.path, pending);
    this.fd = openSync(this.path, 'a');
    this.doneSinceCompact = 0;
  }

  close(pending: SpooledEvent[]): void {
    this.compact(pending);
    closeSync(this.fd);
    this.fd = -1;
  }
}

function rewrite(path: string, events: SpooledEvent[]): void {
  const tmp = `${path}.tmp`;
  writeFileSync(tmp, events.map((e) => `${JSON.stringify({ add: e })}\n`).join(''));
  renameSync(tmp, path);
}
