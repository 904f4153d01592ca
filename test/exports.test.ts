// Pins the public API: the sorted export names of each entry. A change here is a change to the
// contract, made on purpose (update scripts/smoke/exports.json, which the tarball smoke test also uses).
import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import * as core from 'ecom9-gate';
import * as express from 'ecom9-gate/express';
import * as koa from 'ecom9-gate/koa';
import * as fastify from 'ecom9-gate/fastify';
import * as emulator from 'ecom9-gate/emulator';
import * as redis from 'ecom9-gate/redis';
import * as fetchAdapter from 'ecom9-gate/fetch';
import * as hono from 'ecom9-gate/hono';
import * as otel from 'ecom9-gate/otel';
import * as nest from 'ecom9-gate/nest';
import * as testing from 'ecom9-gate/testing';
import * as ai from 'ecom9-gate/ai';
import * as mcp from 'ecom9-gate/mcp';

const pinned = JSON.parse(readFileSync(new URL('../scripts/smoke/exports.json', import.meta.url), 'utf8')) as Record<string, string[]>;

it.each(Object.entries({ core, express, koa, fastify, emulator, redis, fetch: fetchAdapter, hono, otel, nest, testing, ai, mcp }))(
  '%s exports exactly the pinned names',
  (name, mod) => {
    expect(
      Object.keys(mod)
        .filter((k) => k !== 'default')
        .sort(),
    ).toEqual(pinned[name]);
  },
);
