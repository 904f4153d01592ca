// What the runtime offers, asked at run time so that nothing here is an import an edge bundler must
// resolve: Node built-ins through process.getBuiltinModule (Node 20.16+, Bun, Deno, and workerd with
// nodejs_compat; absent in workerd without flags and in Vercel Edge), the environment, and the name of
// an edge runtime for the errors that refuse what cannot exist there.
import type * as DiagnosticsChannel from 'node:diagnostics_channel';
import type * as Fs from 'node:fs';
import type * as Path from 'node:path';
import type * as NodeCrypto from 'node:crypto';
import { OptionsError } from './errors';

interface Builtins {
  'node:diagnostics_channel': typeof DiagnosticsChannel;
  'node:fs': typeof Fs;
  'node:path': typeof Path;
  'node:crypto': typeof NodeCrypto;
}

type MaybeProcess = { env?: Record<string, string | undefined>; getBuiltinModule?: (id: string) => unknown } | undefined;
const proc = (): MaybeProcess => (globalThis as { process?: MaybeProcess }).process;

/** A Node built-in module where the runtime has one, else undefined (never a load-time import). */
export function nodeBuiltin<K extends keyof Builtins>(id: K): Builtins[K] | undefined {
  const get = proc()?.getBuiltinModule;
  if (typeof get !== 'function') return undefined;
  try {
    return (get(id) as Builtins[K] | undefined) ?? undefined;
  } catch {
    return undefined;
  }
}

/** process.env where it exists; an empty environment in a Worker (whose `env` comes with each request). */
export function runtimeEnv(): Record<string, string | undefined> {
  return proc()?.env ?? {};
}

/** An isolate runtime without a durable disk or raw TCP: what the package refuses a spool or ioredis on. */
export type EdgeRuntime = 'Cloudflare Workers (workerd)' | 'Vercel Edge (edge-light)' | 'Deno Deploy';

/** The edge runtime this code runs on, or undefined on a server runtime (Node, Bun, Deno CLI). */
export function edgeRuntime(): EdgeRuntime | undefined {
  const g = globalThis as { navigator?: { userAgent?: unknown }; EdgeRuntime?: unknown; Deno?: DenoLike };
  if (g.navigator?.userAgent === 'Cloudflare-Workers') return 'Cloudflare Workers (workerd)';
  if (typeof g.EdgeRuntime === 'string') return 'Vercel Edge (edge-light)';
  return g.Deno && denoDeploy(g.Deno) ? 'Deno Deploy' : undefined;
}

interface DenoLike {
  env?: { get?: (k: string) => string | undefined };
  permissions?: { querySync?: (d: { name: 'env'; variable: string }) => { state: string } };
}

// Deploy sets DENO_DEPLOYMENT_ID. The permission is queried first: reading an ungranted variable would
// prompt (or throw) in a Deno CLI run.
function denoDeploy(deno: DenoLike): boolean {
  try {
    if (deno.permissions?.querySync?.({ name: 'env', variable: 'DENO_DEPLOYMENT_ID' }).state !== 'granted') return false;
    return Boolean(deno.env?.get?.('DENO_DEPLOYMENT_ID'));
  } catch {
    return false;
  }
}

/**
 * Throws an OptionsError at start-up, naming the option and the runtime, when `what` cannot exist on
 * this edge runtime (`why` says what the isolate lacks).
 */
export function refuseOnEdge(option: string, what: string, why: string): void {
  const rt = edgeRuntime();
  if (rt) throw new OptionsError(`ecom9-gate: ${option}: ${what} cannot exist on ${rt}: ${why}. Leave it out there; see docs/edge.md`);
}
