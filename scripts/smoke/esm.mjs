// The packed package, imported as ESM by its public names: the export lists, a live request, and one
// copy of the core (an error thrown in an adapter is an instance of the class from 'ecom9-gate').
import assert from 'node:assert/strict';
import * as core from 'ecom9-gate';
import * as express from 'ecom9-gate/express';
import * as koa from 'ecom9-gate/koa';
import * as fastify from 'ecom9-gate/fastify';
import * as emulator from 'ecom9-gate/emulator';
import * as redis from 'ecom9-gate/redis';
import * as otel from 'ecom9-gate/otel';
import * as testing from 'ecom9-gate/testing';
import * as ai from 'ecom9-gate/ai'; // without `ai` installed: only its types are named
import * as mcp from 'ecom9-gate/mcp';
import expressApp from 'express';
import expected from './exports.json' with { type: 'json' };

const got = { core, express, koa, fastify, emulator, redis, otel, testing, ai, mcp };
for (const [name, mod] of Object.entries(got))
  assert.deepEqual(
    Object.keys(mod)
      .filter((k) => k !== 'default')
      .sort(),
    expected[name],
    `ESM exports of ${name}`,
  );
const emu = emulator.createEmulator();
await emu.listen(0);
const gate = core.createGate({ apiKey: emu.apiKey, baseUrl: emu.url, logger: { warn() {} } });
assert.equal((await gate.checkTier('acme', { tiers: 'pro' })).allowed, true);

const app = expressApp();
app.use(expressApp.json());
app.use('/hook', express.expressGate(gate, { accountRefId: () => 'acme' }).webhookRouter()); // after a parser: must throw
let caught;
app.use((err, _req, res, _next) => {
  caught = err;
  res.status(500).end();
});
const server = app.listen(0, '127.0.0.1');
await new Promise((r) => server.once('listening', r));
await fetch(`http://127.0.0.1:${server.address().port}/hook`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
assert.ok(caught instanceof core.Ecom9Error, 'ESM: adapter error is not an instance of the core Ecom9Error');
assert.ok(caught instanceof core.WebhookMountError, 'ESM: adapter error is not a WebhookMountError');
server.close();
await gate.close();
await emu.close();
console.log('esm: ok (one core: instanceof holds)');
