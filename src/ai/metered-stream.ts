// A model's stream passed through part by part, pulled only when the caller reads (highWaterMark 0),
// so what the charge counts as delivered is what the caller took. The call is settled at `finish`,
// or for what was delivered when the caller cancels, its abort signal fires, or the stream errors or
// ends without `finish`. Built on a ReadableStream of our own rather than a TransformStream: a
// transformer's `cancel` hook (the caller leaving) is missing from Node 20's web streams.
import type { CallCharge } from './call-charge';

interface Part {
  type: string;
  delta?: unknown;
  input?: unknown;
  usage?: unknown;
  data?: unknown;
}

/** A file part's data in characters as base64 would spell it (v4's tagged `{ type, data | url }`, or bare data), at least 1. */
function fileChars(data: unknown): number {
  const d =
    typeof data === 'object' && data !== null && !(data instanceof Uint8Array)
      ? ((data as { data?: unknown; url?: unknown }).data ?? (data as { url?: unknown }).url)
      : data;
  if (typeof d === 'string') return Math.max(1, d.length);
  if (d instanceof Uint8Array) return Math.max(1, Math.ceil(d.byteLength / 3) * 4);
  return 1;
}

const DELTAS = new Set(['text-delta', 'reasoning-delta', 'tool-input-delta']);

export function meteredStream<T extends Part>(source: ReadableStream<T>, charge: CallCharge, signal: AbortSignal | undefined): ReadableStream<T> {
  const reader = source.getReader();
  let inputDeltas = false;
  const onAbort = (): void => void end('aborted');
  const end = (outcome: 'finished' | 'aborted' | 'failed'): void => {
    signal?.removeEventListener('abort', onAbort);
    void charge.end(outcome);
  };
  if (signal?.aborted) end('aborted');
  else signal?.addEventListener('abort', onAbort, { once: true });

  return new ReadableStream<T>(
    {
      async pull(controller) {
        let r: Awaited<ReturnType<typeof reader.read>>;
        try {
          r = await reader.read();
        } catch (err) {
          end(signal?.aborted ? 'aborted' : 'failed');
          controller.error(err);
          return;
        }
        if (r.done) {
          end(signal?.aborted ? 'aborted' : 'failed'); // a no-op after `finish`
          try {
            controller.close();
          } catch {
            // Already cancelled by the caller.
          }
          return;
        }
        const part = r.value;
        if (DELTAS.has(part.type) && typeof part.delta === 'string') {
          if (part.type === 'tool-input-delta') inputDeltas = true;
          charge.deliver(part.delta.length);
        } else if (part.type === 'tool-call' && !inputDeltas && typeof part.input === 'string') {
          charge.deliver(part.input.length);
        } else if (part.type === 'file') {
          // A generated file (an image) reached the caller: counted by its size, so a caller that
          // takes it and aborts before `finish` is charged for it (never 0), within the reserve.
          charge.deliver(fileChars(part.data));
        } else if (part.type === 'finish') {
          charge.reported(part.usage);
        }
        controller.enqueue(part);
        if (part.type === 'finish') end('finished');
      },
      cancel(reason) {
        end('aborted');
        return reader.cancel(reason);
      },
    },
    { highWaterMark: 0 },
  );
}
