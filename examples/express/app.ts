// A small Express API gated by ecom9: a pro-only report, an entitlement-gated search, paid image
// generation, metered API calls and the webhook router. Run it: `npx tsx examples/express/server.ts`.
import express from 'express';
import { createGate, type GateOptions } from 'ecom9-gate';
import { expressGate } from 'ecom9-gate/express';
import { cookieAccount, reactPage } from '../react/serve';

export function buildApp(options: GateOptions = {}) {
  const gate = createGate(options);
  const ecom9 = expressGate(gate, {
    // In a real app this comes from your auth middleware (req.user.orgId); here, a header (or, for
    // the React page at /app, a cookie).
    accountRefId: (req) => req.get('x-account-id') ?? cookieAccount(req.get('cookie')),
  });

  const app = express();
  // The webhook router reads the raw body itself: mount it before express.json().
  app.use('/webhooks/ecom9', ecom9.webhookRouter());
  app.use(express.json());
  // The browser's read-only routes for the signed-in account, and a React page that uses them.
  app.use('/api/ecom9', ecom9.accountRoutes());
  app.use('/app', reactPage());

  app.get('/reports', ecom9.requireTier('pro', { upgradeLink: true }), (req, res) => {
    res.json({ report: 'quarterly numbers', account: ecom9.gated(req).accountRefId, source: ecom9.gated(req).decision?.source });
  });
  app.get('/v1/search', ecom9.requireEntitlement('pro-api', 'api_access'), ecom9.meterUsage({ product: 'api-access', meter: 'api_calls' }), (req, res) => {
    res.json({ results: [`match for ${String(req.query.q ?? '')}`] });
  });
  app.post('/images', ecom9.chargeCredits({ product: 'ai-images', meter: 'credits', quantity: 5, topUpUrl: 'https://example.com/top-up' }), (req, res) => {
    res.json({ image: 'https://example.com/generated.png', credits: ecom9.gated(req).credits });
  });
  return { app, gate };
}
