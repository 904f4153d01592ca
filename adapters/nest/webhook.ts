// The webhook route at a path chosen at start-up: a controller class made at run time (Nest has no
// other way to serve a path given as an option) whose body is read ahead of the platform's parsers
// (webhook-body.ts), a middleware answering 405/415 to a request that reached the route some other
// way, and the start-up check that the app keeps the raw body.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { All, Controller, Inject, Req, Res, SetMetadata, type OnApplicationBootstrap } from '@nestjs/common';
import type { HttpAdapterHost } from '@nestjs/core';
import type { Gate } from '../../src/index';
import { readSignedBody } from '../../src/middleware/raw-body';
import { signedBytes, webhookPrecheck, webhookRejection } from '../../src/middleware/webhook-route';
import { MAX_WEBHOOK_BYTES } from '../../src/webhooks/handler';
import { OptionsError } from '../../src/shared/errors';
import { send, WEBHOOK_BYTES, WEBHOOK_ROUTE } from './webhook-body';

export const ECOM9_GATE = Symbol.for('ecom9-gate:gate');
export const ECOM9_RAW_BODY = Symbol.for('ecom9-gate:raw-body-watch');

/** A Nest middleware for the webhook path: a wrong method or a compressed body is refused as the other routers do. */
export function webhookPrecheckMiddleware(req: IncomingMessage, res: ServerResponse, next: () => void): void {
  const early = webhookPrecheck(req.method, req.headers);
  if (early) send(res, early);
  else next();
}

const RAW_BODY_OFF =
  'ecom9-gate: Ecom9Module "webhookPath" needs the raw request body to check signatures: create the app with ' +
  'NestFactory.create(AppModule, { rawBody: true }) (or createNestApplication(adapter, { rawBody: true }) in tests)';

/**
 * Watches which body parsers the app registers: Nest tells its HTTP adapter whether to keep the raw
 * body (`registerParserMiddleware(prefix, rawBody)`) during app.init(), and keeps the flag nowhere
 * else. The adapter is handed over before init in NestFactory.create and in @nestjs/testing alike.
 */
export class RawBodyWatch implements OnApplicationBootstrap {
  private parsers: { rawBody: boolean } | undefined;
  private platform = '';

  constructor(host: HttpAdapterHost) {
    host.init$.subscribe(() => {
      const adapter = host.httpAdapter as unknown as { getType(): string; registerParserMiddleware(prefix: string, rawBody: boolean): void } | undefined;
      if (!adapter) return;
      this.platform = adapter.getType();
      const register = adapter.registerParserMiddleware;
      adapter.registerParserMiddleware = (prefix, rawBody) => {
        this.parsers = { rawBody: rawBody === true };
        return register.call(adapter, prefix, rawBody);
      };
    });
  }

  /** Fails app.init() (and so listen()) when the body would be parsed without its raw bytes. Express
   * with `bodyParser: false` is fine (the route reads the stream); Fastify parses JSON itself. */
  onApplicationBootstrap(): void {
    if (this.parsers ? !this.parsers.rawBody : this.platform === 'fastify') throw new OptionsError(RAW_BODY_OFF);
  }
}

type WebhookRequest = { rawBody?: Buffer; body?: unknown; raw?: IncomingMessage; [WEBHOOK_BYTES]?: Buffer } & IncomingMessage;

/**
 * The bytes as sent: those the Express reader kept, Fastify's scoped raw parser's; else (a request the
 * reader did not take) Nest's raw body, or the unread stream. Too large: none.
 */
async function bytesOf(req: WebhookRequest): Promise<Buffer | undefined> {
  const own = req[WEBHOOK_BYTES];
  if (own) return own;
  if (req.raw) {
    // Fastify: no parser runs for a POST without a body (body undefined); anything else kept its raw body.
    const bytes = signedBytes(req.rawBody ?? req.body, req.body === undefined);
    return bytes.length > MAX_WEBHOOK_BYTES ? undefined : bytes;
  }
  const raw = Buffer.isBuffer(req.rawBody) ? { tooLarge: req.rawBody.length > MAX_WEBHOOK_BYTES, body: req.rawBody } : await readSignedBody(req, req.rawBody);
  return raw.tooLarge ? undefined : raw.body;
}

// Fastify's reply (code/headers/send) or Express's response (status/set/json), sent through its framework.
type PlatformResponse = {
  raw?: ServerResponse;
  code(s: number): PlatformResponse;
  status(s: number): PlatformResponse;
  headers(h: object): PlatformResponse;
  set(h: object): PlatformResponse;
  send(b: unknown): unknown;
  json(b: unknown): unknown;
};

function reply(res: PlatformResponse, r: { status: number; headers?: Readonly<Record<string, string>>; body: unknown }): void {
  if (res.raw)
    void res
      .code(r.status)
      .headers(r.headers ?? {})
      .send(r.body);
  else
    res
      .status(r.status)
      .set(r.headers ?? {})
      .json(r.body);
}

/** A controller serving `path`, made per module (the path is an option, so no static @Controller can hold it). */
export function webhookController(path: string): new (...args: never[]) => unknown {
  class Ecom9WebhookController {
    constructor(private readonly gate: Gate) {}

    async handle(req: WebhookRequest, res: PlatformResponse): Promise<void> {
      const bytes = await bytesOf(req);
      reply(res, bytes === undefined ? webhookRejection('size') : await this.gate.handleWebhook({ rawBody: bytes, headers: req.headers }));
    }
  }
  // The decorators, applied by hand: the package needs no decorator support from the user's build.
  Inject(ECOM9_GATE)(Ecom9WebhookController, undefined, 0);
  Controller(path)(Ecom9WebhookController);
  const proto = Ecom9WebhookController.prototype;
  Req()(proto, 'handle', 0);
  Res()(proto, 'handle', 1);
  const handle = Object.getOwnPropertyDescriptor(proto, 'handle') as PropertyDescriptor;
  SetMetadata(WEBHOOK_ROUTE, true)(proto, 'handle', handle);
  All()(proto, 'handle', handle);
  return Ecom9WebhookController;
}
