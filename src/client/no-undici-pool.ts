// No undici here (the edge, Deno, Bun): the "#undici-pool" import condition for every runtime but Node.
import type { PoolFactory } from './senders';

export const createPool: PoolFactory | undefined = undefined;
