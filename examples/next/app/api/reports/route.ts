// A pro-only report: the decision the handler was let in with is in ecom9.state(req).
import { ecom9 } from '@/lib/ecom9';

export const GET = ecom9.requireTier('pro', { upgradeLink: true })(async (req: Request) => {
  const state = ecom9.state(req);
  return Response.json({ report: 'quarterly numbers', account: state?.accountRefId, source: state?.decision?.source });
});
