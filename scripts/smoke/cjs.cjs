// The packed package, required as CJS: every subpath, one copy of the core across them (an error
// thrown in an adapter is an instance of the class exported from 'ecom9-gate'), and no framework
// loaded by the core entry.
const assert = require('node:assert/strict');
const core = require('ecom9-gate');
const loaded = Object.keys(require.cache).filter((p) => /node_modules[\\/](express|koa|fastify|fastify-plugin|ioredis|@opentelemetry)[\\/]/.test(p));
assert.deepEqual(loaded, [], 'requiring ecom9-gate loaded a framework');
const expected = require('./exports.json');
const mods = {
  core,
  express: require('ecom9-gate/express'),
  koa: require('ecom9-gate/koa'),
  fastify: require('ecom9-gate/fastify'),
  emulator: require('ecom9-gate/emulator'),
  redis: require('ecom9-gate/redis'),
  otel: require('ecom9-gate/otel'),
  testing: require('ecom9-gate/testing'),
  // Loaded without `ai` or the MCP SDK installed: they are the app's, named only in types.
  ai: require('ecom9-gate/ai'),
  mcp: require('ecom9-gate/mcp'),
};
for (const [name, mod] of Object.entries(mods))
  assert.deepEqual(
    Object.keys(mod)
      .filter((k) => k !== 'default' && k !== '__esModule')
      .sort(),
    expected[name],
    `CJS exports of ${name}`,
  );

const express = require('express');
(async () => {
  const emu = mods.emulator.createEmulator();
  await emu.listen(0);
  const gate = core.createGate({ apiKey: emu.apiKey, baseUrl: emu.url, logger: { warn() {} } });
  const e = mods.express.expressGate(gate, { accountRefId: () => 'acme' });
  const app = express();
  app.use(express.json());
  app.use('/hook', e.webhookRouter()); // after a parser: the adapter must throw WebhookMountError
  let caught;
  app.use((err, _req, res, _next) => {
    caught = err;
    res.status(500).end();
  });
  const server = app.listen(0);
  await new Promise((r) => server.once('listening', r));
  await fetch(`http://127.0.0.1:${server.address().port}/hook`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
  assert.ok(caught instanceof core.Ecom9Error, 'adapter error is not an instance of the core Ecom9Error');
  assert.ok(caught instanceof core.WebhookMountError);
  server.close();
  await gate.close();
  await emu.close();
  console.log('cjs: ok');
})().catch((err) => {
  console.error(err);
  process.exit(1);
});
