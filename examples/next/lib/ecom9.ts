// One gate per server process, shared by the route handlers and proxy.ts: Next bundles them apart, so
// a plain module-level gate would be made twice (two caches, two usage queues).
import { createGate, type Gate } from 'ecom9-gate';
import { fetchGate } from 'ecom9-gate/fetch';

const shared = globalThis as { ecom9Gate?: Gate };
// Reads ECOM9_API_KEY, ECOM9_BASE_URL and ECOM9_WEBHOOK_SECRET from the environment. `next build`
// loads every route module to read its config but serves no request, so it needs no key then.
const building = process.env.NEXT_PHASE === 'phase-production-build';
shared.ecom9Gate ??= createGate(building ? { apiKey: 'unused-at-build-time', logger: { warn: () => {} } } : {});
export const gate: Gate = shared.ecom9Gate;

export const ecom9 = fetchGate(gate, {
  // In a real app this comes from your session (the signed-in user's org); here, a header.
  accountRefId: (req) => req.headers.get('x-account-id'),
});
