// The Worker's Hono routes, under /hono: the same gate as the fetch routes, Hono's middleware shape.
import { Hono } from 'hono';
import type { Gate } from 'ecom9-gate';
import { honoGate } from 'ecom9-gate/hono';

export function honoApp(gate: Gate) {
  const h = honoGate(gate, { accountRefId: (c) => c.req.header('x-account-id') });
  const app = new Hono().basePath('/hono');
  app.all('/webhooks/ecom9', h.webhookHandler());
  app.get('/reports', h.requireTier('pro'), (c) => c.json({ report: 'quarterly numbers', account: c.get('ecom9').accountRefId }));
  app.get('/search', h.requireEntitlement('pro-api', 'api_access'), h.meterUsage({ product: 'api-access', meter: 'api_calls' }), (c) =>
    c.json({ results: [`match for ${c.req.query('q') ?? ''}`] }),
  );
  app.post('/images', h.chargeCredits({ product: 'ai-images', meter: 'credits', quantity: 5 }), (c) =>
    c.json({ image: 'https://example.com/generated.png', credits: c.get('ecom9').credits }),
  );
  return app;
}
