// closeOnSignals: the graceful shutdown a deploy expects, in the style of @fastify/close-with-grace
// and Nest's enableShutdownHooks. A bare `process.on('SIGTERM', () => gate.close())` replaces Node's
// default exit, so the process keeps listening until SIGKILL; this stops the servers (in-flight
// requests finish and record their usage), closes the gate (flushing usage), then exits.
import { prefixed } from '../shared/errors';
import type { Gate } from './create-gate';

/** Something that stops taking requests: a Node http.Server (`app.listen()`), a Fastify or Nest app. */
export interface Closable {
  close(): unknown;
}

export interface CloseOnSignalsOptions {
  /** Stopped first (they stop accepting; requests in flight finish), before the gate closes. */
  servers?: readonly Closable[];
  /** @default ['SIGTERM', 'SIGINT'] */
  signals?: readonly NodeJS.Signals[];
  /** The most the whole shutdown may take, in ms; past it the process exits with code 1. @default 10_000 */
  timeoutMs?: number;
  /** Your own clean-up (a database pool, ...), run after the servers stop and before the gate closes. */
  onClose?: () => void | Promise<void>;
  /** Exit the process once closed (code 0; 1 when something failed or timed out). @default true */
  exit?: boolean;
}

/** On the first of `signals`: stops the servers, runs onClose, closes the gate, exits. A second signal exits at once (code 1). Returns a function that removes the listeners. */
export function closeOnSignals(gate: Gate, options: CloseOnSignalsOptions = {}): () => void {
  const { servers = [], signals = ['SIGTERM', 'SIGINT'], timeoutMs = 10_000, onClose, exit = true } = options;
  let closing = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (closing) {
      process.exit(1);
      return;
    }
    closing = true;
    const timer = setTimeout(() => {
      gate.reportError(new Error(prefixed(`closeOnSignals: shutdown took longer than ${timeoutMs} ms after ${signal}; exiting`)));
      process.exit(1);
    }, timeoutMs);
    timer.unref();
    let failed = false;
    const step = async (run: () => unknown): Promise<void> => {
      try {
        await run();
      } catch (err) {
        failed = true;
        gate.reportError(err);
      }
    };
    void (async () => {
      await Promise.all(servers.map((s) => step(() => stopServer(s))));
      if (onClose) await step(onClose);
      await step(() => gate.close());
      clearTimeout(timer);
      if (exit) process.exit(failed ? 1 : 0);
    })();
  };
  for (const s of signals) process.on(s, onSignal);
  return () => {
    for (const s of signals) process.off(s, onSignal);
  };
}

/** A Node server resolves on its 'close' event (every connection ended); anything else on what close() returns. */
function stopServer(s: Closable): Promise<void> {
  const node = s as Closable & { listening?: boolean; once?: (event: 'close', fn: () => void) => void; closeIdleConnections?: () => void };
  if (typeof node.listening === 'boolean' && typeof node.once === 'function') {
    if (!node.listening) return Promise.resolve();
    return new Promise((resolve) => {
      node.once?.('close', resolve);
      node.close();
      // Keep-alive connections with no request in flight would hold the server open until they time out.
      node.closeIdleConnections?.();
    });
  }
  return Promise.resolve(s.close()).then(() => undefined);
}
