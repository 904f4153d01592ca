// node:diagnostics_channel where the runtime has it (Node, Bun, Deno, workerd with nodejs_compat), and
// silent stand-ins where it does not (workerd without flags, Vercel Edge): nobody can subscribe there,
// so nothing is published, at the cost of one property read as everywhere else.
import type { Channel, TracingChannel } from 'node:diagnostics_channel';
import { nodeBuiltin } from './runtime';

const dc = nodeBuiltin('node:diagnostics_channel');

const SILENT = { hasSubscribers: false, publish() {} } as unknown as Channel;

/** The named channel, or a stand-in that never has subscribers. */
export function channel(name: string): Channel {
  return dc ? dc.channel(name) : SILENT;
}

/** The named tracingChannel, or undefined where the runtime has none. */
export function tracingChannel<T extends object>(name: string): TracingChannel<T> | undefined {
  return typeof dc?.tracingChannel === 'function' ? dc.tracingChannel<T>(name) : undefined;
}
