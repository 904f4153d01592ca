// The packed package, imported as ESM by its public names.
import assert from 'node:assert/strict';
import * as core from 'ecom9-gate';
import * as express from 'ecom9-gate/express';
import * as koa from 'ecom9-gate/koa';
import * as fastify from 'ecom9-gate/fastify';
import * as emulator from 'ecom9-gate/emulator';
import * as redis from 'ecom9-gate/redis';
import expected from './exports.json' with { type: 'json' };

const got = { core, express, koa, fastify, emulator, redis };
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
await gate.close();
await emu.close();
console.log('esm: ok');
