// The gate of the Edge runtime's routes: an isolate of its own (it cannot share the Node server's gate
// on globalThis), made on the first request that needs it and kept for the isolate's life. No undici,
// no Node built-in: the package's "edge-light" export condition gives it the runtime's fetch.
import { createGate, type Gate } from 'ecom9-gate';
import { fetchGate, type FetchGate } from 'ecom9-gate/fetch';

let edgeGate: Gate | undefined;

/** Reads ECOM9_API_KEY, ECOM9_BASE_URL and ECOM9_WEBHOOK_SECRET from the environment at the first request. */
export function gate(): Gate {
  edgeGate ??= createGate({});
  return edgeGate;
}

let guards: FetchGate | undefined;

export function ecom9(): FetchGate {
  guards ??= fetchGate(gate(), { accountRefId: (req) => req.headers.get('x-account-id') });
  return guards;
}
