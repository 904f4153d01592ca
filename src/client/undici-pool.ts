// undici's connection pool, where undici runs (Node). Chosen by the "#undici-pool" import conditions in
// package.json; every other runtime (workerd, edge-light, browser, Deno, Bun) gets no-undici-pool.ts
// and sends through its own fetch, so undici is never loaded, nor seen by an edge bundler.
import { Pool } from 'undici';
import type { PoolFactory } from './senders';

export const createPool: PoolFactory | undefined = (origin, connections) => new Pool(origin, { connections, keepAliveTimeout: 10_000 });
