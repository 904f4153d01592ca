// The `{prefix}/events` stream: server-sent events that tell an open page its account's billing state
// changed. One gate listener serves every stream; a stream hears only its own account. Hand-written
// (a few lines of the text/event-stream format) rather than a library: the adapters write to Node
// responses and web ReadableStreams alike, which no SSE library covers both of.
import type { Gate } from '../gate/create-gate';

/** What a stream writer needs: the head, and a start that feeds chunks until the returned stop is called. */
export interface EventsAnswer {
  status: 200;
  headers: Record<string, string>;
  /**
   * Starts the stream; `write` gets each chunk of text, `end` is called when the server ends it
   * (closeStreams). Returns the cleanup to run when the client goes (it gives the stream's slots back).
   */
  start(write: (chunk: string) => void, end: () => void): () => void;
  /** Gives the stream's slots back without starting it (the client left, or it cannot be sent). Idempotent. */
  release(): void;
}

/** A slot under the global cap, taken before the account is resolved; given back once. */
export interface StreamSlot {
  release(): void;
}

export const EVENTS_HEADERS = Object.freeze({
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'private, no-store',
  'x-content-type-options': 'nosniff',
  // Tells nginx-like proxies not to buffer the stream.
  'x-accel-buffering': 'no',
});

/** The event a page reacts to; `data` names nothing secret (the page knows its account). */
export const INVALIDATE_EVENT = 'event: invalidate\ndata: {}\n\n';

type Writer = (chunk: string) => void;

export class EventHub {
  private readonly byAccount = new Map<string, Set<Writer>>();
  /** Streams per account, counted from when they are opened (not started) until they stop. */
  private readonly opened = new Map<string, number>();
  private unsubscribe: (() => void) | undefined;
  private offClose: (() => void) | undefined;
  private readonly enders = new Set<() => void>();
  /** Started streams (a gauge). */
  private count = 0;
  /** Slots under the global cap: streams started, opened or still resolving their account. */
  private slots = 0;

  constructor(
    private readonly gate: Gate,
    private readonly o: { maxStreams: number; maxStreamsTotal: number; heartbeatMs: number; onInvalidate(ref: string | undefined): void },
  ) {
    // Always listened to, so the routes' own short cache is dropped with the gate's.
    this.unsubscribe = gate.onInvalidate((ref) => this.dispatch(ref));
    // gate.close() ends every stream, so a server closed after it is not held open by browsers.
    this.offClose = gate.onClose(() => this.close());
  }

  /** Streams started and not yet stopped. */
  get size(): number {
    return this.count;
  }

  /** Slots taken under the global cap (started, opened, or resolving). */
  get reserved(): number {
    return this.slots;
  }

  private dispatch(ref: string | undefined): void {
    this.o.onInvalidate(ref);
    if (ref === undefined) {
      for (const set of this.byAccount.values()) for (const w of set) w(INVALIDATE_EVENT);
      return;
    }
    const set = this.byAccount.get(ref);
    if (set) for (const w of set) w(INVALIDATE_EVENT);
  }

  /** A slot under the global cap, taken as the request arrives (before its account is known), or undefined when full. */
  reserve(): StreamSlot | undefined {
    if (this.slots >= this.o.maxStreamsTotal) return undefined;
    this.slots++;
    let held = true;
    return {
      release: () => {
        if (!held) return;
        held = false;
        this.slots--;
      },
    };
  }

  /**
   * A stream for the account, counted from now, or undefined when it already has its share opened
   * (started or not: concurrent and pipelined opens are counted alike). Takes over `slot`.
   */
  open(ref: string, slot: StreamSlot): EventsAnswer | undefined {
    const n = this.opened.get(ref) ?? 0;
    if (n >= this.o.maxStreams) return undefined;
    this.opened.set(ref, n + 1);
    let released = false;
    const release = (): void => {
      if (released) return;
      released = true;
      slot.release();
      const left = (this.opened.get(ref) ?? 1) - 1;
      if (left <= 0) this.opened.delete(ref);
      else this.opened.set(ref, left);
    };
    let started = false;
    return {
      status: 200,
      headers: { ...EVENTS_HEADERS },
      release,
      start: (write, end) => {
        if (started || released) return () => {};
        started = true;
        let mine = this.byAccount.get(ref);
        if (!mine) this.byAccount.set(ref, (mine = new Set()));
        const w: Writer = (chunk) => {
          try {
            write(chunk);
          } catch (err) {
            this.gate.reportError(err);
          }
        };
        mine.add(w);
        this.count++;
        // The retry hint and a first comment, so the browser's EventSource sees the stream open at once.
        w('retry: 2000\n: connected\n\n');
        const beat = setInterval(() => w(': heartbeat\n\n'), this.o.heartbeatMs);
        beat.unref?.();
        let stopped = false;
        const stop = () => {
          if (stopped) return;
          stopped = true;
          this.enders.delete(ender);
          clearInterval(beat);
          this.count--;
          const s = this.byAccount.get(ref);
          s?.delete(w);
          if (s && s.size === 0) this.byAccount.delete(ref);
          release();
        };
        const ender = () => {
          stop();
          end();
        };
        this.enders.add(ender);
        return stop;
      },
    };
  }

  /** Ends every open stream (a server shutting down: open streams would hold it open). */
  endAll(): void {
    for (const e of [...this.enders]) e();
  }

  /** Ends every stream and stops listening to the gate. */
  close(): void {
    this.endAll();
    this.unsubscribe?.();
    this.offClose?.();
    this.unsubscribe = this.offClose = undefined;
  }
}
