// The Koa version of the example API: the same routes, as Koa middleware, state in ctx.state.ecom9.
import Koa from 'koa';
import Router from '@koa/router';
import { createGate, type GateOptions } from 'ecom9-gate';
import { koaGate } from 'ecom9-gate/koa';

export function buildApp(options: GateOptions = {}) {
  const gate = createGate(options);
  const ecom9 = koaGate(gate, { accountRefId: (ctx) => ctx.get('x-account-id') || undefined });
  const app = new Koa();
  const router = new Router();
  // Before any body parser: the webhook router reads the raw bytes it verifies.
  app.use(ecom9.webhookRouter({ path: '/webhooks/ecom9' }));
  router.get('/reports', ecom9.requireTier('pro', { upgradeLink: true }), (ctx) => {
    ctx.body = { report: 'quarterly numbers', account: ecom9.gated(ctx).accountRefId };
  });
  router.get('/v1/search', ecom9.requireEntitlement('pro-api', 'api_access'), ecom9.meterUsage({ product: 'api-access', meter: 'api_calls' }), (ctx) => {
    ctx.body = { results: [`match for ${String(ctx.query.q ?? '')}`] };
  });
  router.post('/images', ecom9.chargeCredits({ product: 'ai-images', meter: 'credits', quantity: 5, topUpUrl: 'https://example.com/top-up' }), (ctx) => {
    ctx.body = { image: 'https://example.com/generated.png', credits: ecom9.gated(ctx).credits };
  });
  app.use(router.routes()).use(router.allowedMethods());
  return { app, gate };
}
