// A small Hono API gated by ecom9: a pro-only report, an entitlement-gated and metered search, paid
// image generation and the webhook route. Served by server.ts (Node or Bun); the same app runs on Deno.
import { Hono } from 'hono';
import { createGate, type GateOptions } from 'ecom9-gate';
import { honoGate } from 'ecom9-gate/hono';

export function buildApp(options: GateOptions = {}) {
  const gate = createGate(options);
  const ecom9 = honoGate(gate, {
    // In a real app this comes from your auth middleware (c.get('user').orgId); here, a header.
    accountRefId: (c) => c.req.header('x-account-id'),
  });

  const app = new Hono();
  // The webhook handler reads the raw body itself: nothing may read it before (no c.req.json()).
  app.all('/webhooks/ecom9', ecom9.webhookHandler());

  app.get('/reports', ecom9.requireTier('pro', { upgradeLink: true }), (c) => {
    const { accountRefId, decision } = c.get('ecom9');
    return c.json({ report: 'quarterly numbers', account: accountRefId, source: decision?.source });
  });
  app.get('/v1/search', ecom9.requireEntitlement('pro-api', 'api_access'), ecom9.meterUsage({ product: 'api-access', meter: 'api_calls' }), (c) =>
    c.json({ results: [`match for ${c.req.query('q') ?? ''}`] }),
  );
  app.post('/images', ecom9.chargeCredits({ product: 'ai-images', meter: 'credits', quantity: 5, topUpUrl: 'https://example.com/top-up' }), (c) =>
    c.json({ image: 'https://example.com/generated.png', credits: c.get('ecom9').credits }),
  );
  return { app, gate };
}
