// The bindings' "response finished" hook (Binding.finished), as a capability added to the builder
// would use it (holds settle on it, meterUsage records on it): on every adapter, served for real, it
// fires once per request with the status sent, and says `aborted` when the client left mid-response.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import express from 'express';
import Koa from 'koa';
import Fastify from 'fastify';
import { Hono } from 'hono';
import { createAdaptorServer } from '@hono/node-server';
import { Controller, Get, Module, Res, type CallHandler, type ExecutionContext, type INestApplication, type NestInterceptor } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import type { Binding, Run, Shape } from '../src/middleware/binding';
import { expressBinding } from '../adapters/express/binding';
import { koaBinding } from '../adapters/koa/binding';
import { fastifyBinding } from '../adapters/fastify/binding';
import { honoBinding } from '../adapters/hono/binding';
import { fetchBinding } from '../adapters/fetch/binding';
import { nestBinding } from '../adapters/nest/binding';
import { deferred, type Deferred } from './support/apps';

interface Seen {
  status: number;
  aborted: boolean;
}

/** A middleware made the way the builder makes one: it goes on, and records when the response is done. */
function probe<S extends Shape>(b: Binding<S>, seen: Seen[], fired: () => void): S['mw'] {
  const done = (_req: S['req'], _res: S['meterRes'], status: number, aborted: boolean) => {
    seen.push({ status, aborted });
    fired();
  };
  const run: Run<S> = (req, res, next) => b.finished(req, res, next, done);
  return b.middleware(run, 'probe');
}

const report = (err: unknown) => {
  throw err;
};

interface Served {
  url: string;
  close(): Promise<void>;
}

function listen(server: http.Server): Promise<Served> {
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () =>
      resolve({
        url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        close: () =>
          new Promise<void>((r) => {
            server.closeAllConnections();
            server.close(() => r());
          }),
      }),
    );
  });
}

// Each app: GET /ok answers 201 with a body; GET /hang sends one chunk and never ends.
const CHUNK = 'first;';

function streamForever(): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(ctl) {
      ctl.enqueue(new TextEncoder().encode(CHUNK));
    },
  });
}

type Make = (seen: Seen[], fired: () => void) => Promise<Served>;

class ProbeController {
  ok(res: express.Response) {
    res.status(201).json({ ok: true });
  }

  hang(res: express.Response) {
    res.write(CHUNK);
  }
}
// The decorators, applied by hand (biome parses no parameter decorators), as adapters/nest does.
Controller()(ProbeController);
for (const route of ['ok', 'hang'] as const) {
  Res()(ProbeController.prototype, route, 0);
  Get(route)(ProbeController.prototype, route, Object.getOwnPropertyDescriptor(ProbeController.prototype, route) as PropertyDescriptor);
}

class ProbeModule {}
Module({ controllers: [ProbeController] })(ProbeModule);

const apps: Record<string, Make> = {
  express: (seen, fired) => {
    const app = express();
    app.use(probe(expressBinding(report), seen, fired));
    app.get('/ok', (_q, res) => void res.status(201).json({ ok: true }));
    app.get('/hang', (_q, res) => void res.write(CHUNK));
    return listen(http.createServer(app));
  },
  koa: (seen, fired) => {
    const app = new Koa();
    app.use(probe(koaBinding, seen, fired));
    app.use((ctx) => {
      if (ctx.path === '/ok') {
        ctx.status = 201;
        ctx.body = { ok: true };
        return;
      }
      ctx.status = 200;
      ctx.respond = false;
      ctx.res.write(CHUNK);
    });
    return listen(http.createServer(app.callback()));
  },
  fastify: async (seen, fired) => {
    const app = Fastify();
    app.addHook('onRequest', probe(fastifyBinding(report), seen, fired));
    app.get('/ok', (_q, reply) => reply.code(201).send({ ok: true }));
    app.get('/hang', (_q, reply) => {
      reply.hijack();
      reply.raw.write(CHUNK);
    });
    await app.listen({ port: 0, host: '127.0.0.1' });
    return { url: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`, close: () => app.close() };
  },
  // On @hono/node-server: the Node response (c.env.outgoing) is what the hook listens to.
  hono: (seen, fired) => {
    const app = new Hono();
    app.use(probe(honoBinding, seen, fired));
    app.get('/ok', (c) => c.json({ ok: true }, 201));
    app.get('/hang', () => new Response(streamForever()));
    return listen(createAdaptorServer({ fetch: app.fetch }) as http.Server);
  },
  // The same Hono app without the Node objects (as on Bun, Deno or an edge runtime): the body is watched.
  'hono (web)': (seen, fired) => {
    const app = new Hono();
    app.use(probe(honoBinding, seen, fired));
    app.get('/ok', (c) => c.json({ ok: true }, 201));
    app.get('/hang', () => new Response(streamForever()));
    return listen(createAdaptorServer({ fetch: (req: Request) => app.fetch(req) }) as http.Server);
  },
  fetch: (seen, fired) => {
    const guard = probe(fetchBinding(report), seen, fired);
    const handler = guard((req: Request) =>
      new URL(req.url).pathname === '/ok' ? Response.json({ ok: true }, { status: 201 }) : new Response(streamForever()),
    );
    return listen(createAdaptorServer({ fetch: handler }) as http.Server);
  },
  nest: async (seen, fired) => {
    const run = probe(nestBinding, seen, fired);
    const interceptor: NestInterceptor = {
      intercept(ctx: ExecutionContext, next: CallHandler) {
        run(ctx.getArgByIndex(0), ctx, undefined);
        return next.handle();
      },
    };
    const mod = await Test.createTestingModule({ imports: [ProbeModule] }).compile();
    const app: INestApplication = mod.createNestApplication({ logger: false });
    app.useGlobalInterceptors(interceptor);
    await app.listen(0, '127.0.0.1');
    return { url: await app.getUrl(), close: () => app.close() };
  },
};

/** GET that reads the whole body. */
async function getAll(url: string): Promise<number> {
  const res = await fetch(url);
  await res.arrayBuffer();
  return res.status;
}

/** GET that leaves once the first chunk has arrived. */
function getAndLeave(url: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, (res) => {
      res.once('data', () => {
        req.destroy();
        resolve();
      });
    });
    req.on('error', (err) => ((err as NodeJS.ErrnoException).code === 'ECONNRESET' ? resolve() : reject(err)));
  });
}

describe.each(Object.keys(apps))('Binding.finished on %s', (name) => {
  const seen: Seen[] = [];
  let fired: Deferred = deferred();
  let served: Served;

  beforeAll(async () => {
    served = await (apps[name] as Make)(seen, () => fired.resolve());
  });
  afterAll(() => served.close());

  it('fires once the response is finished, with the status sent', async () => {
    seen.length = 0;
    fired = deferred();
    expect(await getAll(`${served.url}/ok`)).toBe(201);
    await fired.promise;
    expect(seen).toEqual([{ status: 201, aborted: false }]);
  });

  it('fires with aborted when the client leaves before the end', async () => {
    seen.length = 0;
    fired = deferred();
    await getAndLeave(`${served.url}/hang`);
    await fired.promise;
    expect(seen).toEqual([{ status: 200, aborted: true }]);
  });
});
