// Which tool calls are one call delivered twice: the same account, session (or connection), JSON-RPC
// request id, guard and arguments. A session id is the MCP transport's (streamable HTTP); without
// one, a connection is the HTTP request that carried the call (stateless streamable HTTP), else the
// user's `connectionId`, else this mcpGate (stdio: one connection per process).
import { createHash, randomUUID } from 'node:crypto';
import type { ToolExtra } from './types';

export type ConnectionIdFn = (extra: ToolExtra) => string | undefined;

export function connectionScope(connectionId: ConnectionIdFn | undefined): (extra: ToolExtra) => string {
  const own = randomUUID();
  const perRequest = new WeakMap<object, string>();
  return (extra) => {
    if (typeof extra.sessionId === 'string' && extra.sessionId !== '') return `s:${extra.sessionId}`;
    const id = connectionId?.(extra);
    if (typeof id === 'string' && id !== '') return `c:${id}`;
    const info = extra.requestInfo;
    if (typeof info === 'object' && info !== null) {
      let k = perRequest.get(info);
      if (k === undefined) perRequest.set(info, (k = `h:${randomUUID()}`));
      return k;
    }
    return `g:${own}`;
  };
}

/** The call's key: the hold key or debit event_key (so ecom9 de-duplicates across processes too), and the replay key. */
export function requestKey(ref: string, scope: string, requestId: string | number, guard: string, args: unknown): string {
  let argsJson: string;
  try {
    argsJson = JSON.stringify(args) ?? '';
  } catch {
    argsJson = randomUUID(); // not serialisable: never taken for another call
  }
  const h = createHash('sha256');
  for (const s of [ref, scope, typeof requestId === 'number' ? `n${requestId}` : `s${requestId}`, guard, argsJson]) h.update(s).update('\u0000');
  return 'mcp_' + h.digest('base64url');
}
