// The Fastify version of the example API: the plugin decorates app.ecom9 (hook factories) and
// request.ecom9 (state), and serves webhooks on webhookPath with its own raw-body parser.
import Fastify from 'fastify';
import { createGate, type GateOptions } from 'ecom9-gate';
import { fastifyGate } from 'ecom9-gate/fastify';

export async function buildApp(options: GateOptions = {}) {
  const gate = createGate(options);
  const app = Fastify();
  await app.register(fastifyGate, {
    gate,
    accountRefId: (req) => req.headers['x-account-id'] as string | undefined,
    webhookPath: '/webhooks/ecom9',
  });
  app.get('/reports', { preHandler: app.ecom9.requireTier('pro', { upgradeLink: true }) }, async (req) => ({
    report: 'quarterly numbers',
    account: app.ecom9.gated(req).accountRefId,
  }));
  app.get(
    '/v1/search',
    { preHandler: app.ecom9.requireEntitlement('pro-api', 'api_access'), onRequest: app.ecom9.meterUsage({ product: 'api-access', meter: 'api_calls' }) },
    async (req) => ({ results: [`match for ${String((req.query as { q?: string }).q ?? '')}`] }),
  );
  app.post(
    '/images',
    { preHandler: app.ecom9.chargeCredits({ product: 'ai-images', meter: 'credits', quantity: 5, topUpUrl: 'https://example.com/top-up' }) },
    async (req) => ({
      image: 'https://example.com/generated.png',
      credits: app.ecom9.gated(req).credits,
    }),
  );
  return { app, gate };
}
