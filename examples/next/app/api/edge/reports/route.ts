// The pro-only report on the Edge runtime: the same guard as app/api/reports, with the edge gate.
import { ecom9 } from '@/lib/ecom9-edge';

export const runtime = 'edge';

const handler = (req: Request) => {
  const state = ecom9().state(req);
  return Response.json({ report: 'quarterly numbers', account: state?.accountRefId, source: state?.decision?.source, runtime: 'edge' });
};

let guarded: ((req: Request) => Response | Promise<Response>) | undefined;

// Built on the first request: the gate reads its settings then, not when `next build` loads the module.
export const GET = (req: Request) => {
  guarded ??= ecom9().requireTier('pro')(handler);
  return guarded(req);
};
