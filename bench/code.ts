// The code the HTTP benchmark's servers run: the build (dist/, what a user imports; the default), or
// the TypeScript source under tsx with BENCH_CODE=src. The two differ by more than the gate's cost on a
// metered route: tsx keeps function names by wrapping every function expression in a call that
// defines its `name` (esbuild's keepNames), once per closure made, which the build does not do.
import type * as Core from '../src/index';
import type * as Express from '../adapters/express';
import type * as Koa from '../adapters/koa';
import type * as Fastify from '../adapters/fastify';
import type * as Hono from '../adapters/hono';
import type * as Fetch from '../adapters/fetch';

export const benchCode = process.env.BENCH_CODE === 'src' ? 'src' : 'dist';
const from = <T>(src: string, dist: string): Promise<T> => import(benchCode === 'src' ? src : dist) as Promise<T>;

export const core = await from<typeof Core>('../src/index', '../dist/index.js');
export const express = await from<typeof Express>('../adapters/express', '../dist/express.js');
export const koa = await from<typeof Koa>('../adapters/koa', '../dist/koa.js');
export const fastify = await from<typeof Fastify>('../adapters/fastify', '../dist/fastify.js');
export const hono = await from<typeof Hono>('../adapters/hono', '../dist/hono.js');
export const fetchAdapter = await from<typeof Fetch>('../adapters/fetch', '../dist/fetch.js');
