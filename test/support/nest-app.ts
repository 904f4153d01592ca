// The scenario app of apps.ts in NestJS, on its Express or Fastify platform: the same routes as
// decorated handlers, built with @nestjs/testing and listening on loopback, so the scenario and
// webhook tables run against Nest as against every other adapter. What the others write per route
// with onDenied, a Nest app writes as metadata its module-level onDenied reads (@OnDenied below);
// its own error answer is a global exception filter (500 `{ error, handledBy: 'app' }`), and an app
// middleware in front of every route fails on `x-app-fail`. POST routes answer 200 (@HttpCode) as
// the other apps do, except /paid/:size and /answer, which keep Nest's 201 (the idempotency and
// hold tables expect it).
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import {
  Body,
  Catch,
  Controller,
  Get,
  Header,
  Headers,
  HttpCode,
  HttpException,
  Inject,
  Module,
  Param,
  Post,
  Res,
  SetMetadata,
  type ArgumentsHost,
  type DynamicModule,
  type ExceptionFilter,
  type ExecutionContext,
  type INestApplication,
  type MiddlewareConsumer,
  type NestApplicationOptions,
  type NestModule,
  type Type,
} from '@nestjs/common';
import { APP_FILTER, BaseExceptionFilter, HttpAdapterHost, Reflector } from '@nestjs/core';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import type { Gate, WebhookHandler } from 'ecom9-gate';
import {
  ChargeCredits,
  Ecom9,
  Ecom9Module,
  MeterUsage,
  RequireEntitlement,
  RequireTier,
  ReserveCredits,
  type Ecom9ForRootOptions,
  type Ecom9ModuleOptions,
  type Ecom9State,
  type NestDeniedHandler,
  type NestResponse,
} from 'ecom9-gate/nest';
import { appFails, boom, resolveFrom } from './apps';
import { answer, appErrors, charge, holder, meter, paidAnswer, teapot, tokens, video, work, type Held } from './web-apps';

export const PLATFORMS = ['express', 'fastify'] as const;
export type Platform = (typeof PLATFORMS)[number];

// --- A route's own onDenied, the Nest way --------------------------------------------------------

const ROUTE_DENIED = Symbol('route onDenied');
/** A route's own answer to a denial: metadata the module-level onDenied reads. */
const OnDenied = (handler: NestDeniedHandler) => SetMetadata(ROUTE_DENIED, handler);
/** The module's onDenied: the route's own if it has one, else `fallback` (else the default denial). */
function routeDenied(fallback?: NestDeniedHandler): NestDeniedHandler {
  const reflector = new Reflector();
  return (d, ctx) => (reflector.get<NestDeniedHandler | undefined>(ROUTE_DENIED, ctx.getHandler()) ?? fallback)?.(d, ctx);
}
const headersOf = (ctx: ExecutionContext) => ctx.switchToHttp().getRequest().headers;
/** Answers 418 `{ custom, code }`, as the other apps' /custom routes. */
const answerTeapot: NestDeniedHandler = (d) => {
  throw new HttpException(teapot(d), 418);
};

// --- The scenario routes ----------------------------------------------------------------------

/** The app's holder of /metered-held's request (one per app: RunningNest.hold arms it). */
const HELD = Symbol('held request');

@Controller()
class ScenarioController {
  constructor(@Inject(HELD) private readonly held: ReturnType<typeof holder>) {}

  @Get('tier')
  @RequireTier('pro')
  tier(@Ecom9() ecom9: Ecom9State) {
    return { ok: true, ecom9 };
  }

  @Get('tier-sub')
  @RequireTier(['pro', 'enterprise'], { subscription: 'studio-suite' })
  tierSub() {
    return { ok: true };
  }

  @Get('links')
  @RequireTier('enterprise', { upgradeLink: true, paymentLink: true })
  links() {
    return { ok: true };
  }

  @Get('pay')
  @RequireTier('pro', { paymentLink: true })
  pay() {
    return { ok: true };
  }

  @Get('ent')
  @RequireEntitlement('pro-api', 'api_access')
  ent() {
    return { ok: true };
  }

  @Get('custom')
  @RequireTier('enterprise')
  @OnDenied(answerTeapot)
  custom() {
    return { ok: true };
  }

  @Get('soft')
  @RequireTier('enterprise')
  @OnDenied(() => true)
  soft(@Ecom9() ecom9: Ecom9State) {
    return { code: ecom9.decision?.code };
  }

  @Get('boom-tier')
  @RequireTier('enterprise')
  @OnDenied((_d, ctx) => boom(headersOf(ctx)))
  boomTier() {
    return { ok: true };
  }

  @Post('boom-charge')
  @HttpCode(200)
  @ChargeCredits({ ...charge, quantity: 50 })
  @OnDenied((_d, ctx) => boom(headersOf(ctx)))
  boomCharge() {
    return { ok: true };
  }

  @Post('images')
  @HttpCode(200)
  @ChargeCredits(charge)
  images(@Ecom9() ecom9: Ecom9State) {
    return { ok: true, credits: ecom9.credits };
  }

  @Post('answer')
  @ReserveCredits(answer)
  answer(@Ecom9() ecom9: Ecom9State, @Headers('x-used') used?: string, @Headers('x-settle') settle?: string) {
    return work(ecom9.hold, used, settle);
  }

  @Post('images-again')
  @HttpCode(200)
  @ChargeCredits(charge)
  imagesAgain(@Ecom9() ecom9: Ecom9State) {
    return { ok: true, credits: ecom9.credits };
  }

  @Post('gen')
  @HttpCode(200)
  @ChargeCredits(charge)
  @ChargeCredits(video)
  gen(@Ecom9() ecom9: Ecom9State) {
    return { credits: ecom9.credits };
  }

  @Post('images/:n')
  @HttpCode(200)
  @ChargeCredits({ ...charge, quantity: (req) => Number(req.params.n) })
  imagesN(@Ecom9() ecom9: Ecom9State) {
    return { credits: ecom9.credits };
  }

  @Get('metered')
  @MeterUsage(meter)
  metered() {
    return { ok: true };
  }

  @Post('paid/:size')
  @ChargeCredits(charge)
  paid(@Param('size') size: string, @Body() body: { prompt?: unknown } | undefined) {
    return paidAnswer(size, body?.prompt);
  }

  @Get('meter-any/:x')
  @MeterUsage(meter)
  meterAny() {
    return { ok: true };
  }

  @Get('metered-two')
  @MeterUsage(meter)
  @MeterUsage(tokens)
  meteredTwo() {
    return { ok: true };
  }

  @Get('metered-bad')
  @MeterUsage({ ...meter, quantity: () => Number.NaN })
  meteredBad() {
    return { ok: true };
  }

  @Get('metered-fail')
  @HttpCode(500)
  @MeterUsage(meter)
  meteredFail() {
    return { ok: false };
  }

  @Get('metered-weighted')
  @Header('x-units', '7')
  @MeterUsage({ ...meter, quantity: (_q, res) => Number(res.getHeader('x-units')) })
  meteredWeighted() {
    return { ok: true };
  }

  @Get('metered-held')
  @MeterUsage(meter)
  async meteredHeld(@Res({ passthrough: true }) res: NestResponse) {
    const h = this.held.current;
    // Express's response is the Node one; Fastify's reply keeps it as .raw.
    (res.raw ?? res).once('close', () => h.closed.resolve());
    h.reached.resolve();
    await h.release.promise;
    return { ok: true };
  }
}

// --- The app's own error handler and hook -----------------------------------------------------

/** The app's error answer: 500 `{ error, handledBy: 'app' }` for what is not an HttpException (those go to Nest's own filter). */
@Catch()
class AppErrorFilter implements ExceptionFilter {
  constructor(private readonly adapterHost: HttpAdapterHost) {}

  catch(err: unknown, host: ArgumentsHost) {
    const adapter = this.adapterHost.httpAdapter;
    if (err instanceof HttpException) return new BaseExceptionFilter(adapter).catch(err, host);
    appErrors.push(err);
    adapter.reply(host.switchToHttp().getResponse(), { error: (err as Error).message, handledBy: 'app' }, 500);
  }
}

/** An app middleware in front of every route (the webhook route too) that fails on `x-app-fail`. */
function appHook(req: { headers: Record<string, string | string[] | undefined> }, _res: unknown, next: () => void): void {
  const err = appFails(req.headers);
  if (err) throw err;
  next();
}

@Module({
  controllers: [ScenarioController],
  providers: [
    { provide: HELD, useFactory: holder },
    { provide: APP_FILTER, useFactory: (host: HttpAdapterHost) => new AppErrorFilter(host), inject: [HttpAdapterHost] },
  ],
})
class ScenarioModule implements NestModule {
  configure(consumer: MiddlewareConsumer) {
    consumer.apply(appHook).forRoutes('{*path}');
  }
}

// --- Building and running ---------------------------------------------------------------------

export interface NestAppOptions {
  /** Ecom9Module's webhookHandlers. */
  handlers?: Record<string, WebhookHandler>;
  /** Merged over `{ rawBody: true, logger: false }`. */
  app?: NestApplicationOptions;
  /** forRootAsync, the gate from an injected provider. */
  async?: boolean;
  /** app.setGlobalPrefix(prefix) before init. */
  prefix?: string;
  /** More controllers beside the scenario routes. */
  controllers?: Type[];
}

export interface RunningNest {
  app: INestApplication;
  server: Server;
  url: string;
  /** Arms the next request to /metered-held (and returns its controls). */
  hold(): Held;
  close(): Promise<void>;
}

const GATE = Symbol('test gate');

/** Stands in for an app's config module: it provides the gate that forRootAsync's factory injects. */
@Module({})
class ConfigModule {}
const configModule = (gate: Gate): DynamicModule => ({ module: ConfigModule, providers: [{ provide: GATE, useValue: gate }], exports: [GATE] });

function ecom9Module(gate: Gate, opts: NestAppOptions): DynamicModule {
  const module: Omit<Ecom9ModuleOptions, 'gate'> = {
    accountRefId: (req: { headers: Record<string, string> }) => resolveFrom(req.headers),
    onDenied: routeDenied(),
  };
  const route = { webhookPath: '/webhooks/ecom9', ...(opts.handlers ? { webhookHandlers: opts.handlers } : {}) };
  return opts.async
    ? Ecom9Module.forRootAsync({ ...route, imports: [configModule(gate)], inject: [GATE], useFactory: async (g: Gate) => ({ gate: g, ...module }) })
    : Ecom9Module.forRoot({ gate, ...module, ...route });
}

async function build(
  platform: Platform,
  imports: Array<DynamicModule | Type>,
  controllers: Type[],
  options: NestApplicationOptions,
): Promise<INestApplication> {
  const ref = await Test.createTestingModule({ imports, controllers }).compile();
  return platform === 'fastify' ? ref.createNestApplication(new FastifyAdapter(), options) : ref.createNestApplication(options);
}

/** Builds and initialises the scenario app (init rejects on a bad option or a missing raw body). */
export async function createNestApp(platform: Platform, gate: Gate, opts: NestAppOptions = {}): Promise<INestApplication> {
  const app = await build(platform, [ecom9Module(gate, opts), ScenarioModule], opts.controllers ?? [], { rawBody: true, logger: false, ...opts.app });
  if (opts.prefix) app.setGlobalPrefix(opts.prefix);
  await app.init();
  return app;
}

async function listening(app: INestApplication): Promise<RunningNest> {
  await app.listen(0, '127.0.0.1');
  const server = app.getHttpServer() as Server;
  return {
    app,
    server,
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    hold: () => app.get<ReturnType<typeof holder>>(HELD).hold(),
    close: () => app.close(),
  };
}

export async function startNestApp(platform: Platform, gate: Gate, opts: NestAppOptions = {}): Promise<RunningNest> {
  return listening(await createNestApp(platform, gate, opts));
}

/** An app of a test's own: Ecom9Module.forRoot(options) and its controllers alone, listening on loopback. */
export async function startNestModuleApp(platform: Platform, options: Ecom9ForRootOptions, controllers: Type[]): Promise<RunningNest> {
  return listening(await build(platform, [Ecom9Module.forRoot(options)], controllers, { logger: false }));
}

// --- The adapter-level onDenied app ------------------------------------------------------------

@Controller()
class DeniedController {
  @Get('tier')
  @RequireTier('enterprise')
  tier() {
    return { ran: true };
  }

  @Post('charge')
  @HttpCode(200)
  @ChargeCredits({ ...charge, quantity: 50 })
  charge() {
    return { ran: true };
  }

  @Get('override')
  @RequireTier('enterprise')
  @OnDenied(answerTeapot)
  override() {
    return { ran: true };
  }
}

/** The app of startDeniedApp: a module-level onDenied answering 451, a route with its own, and resolverError 'throw'. */
export async function startNestDeniedApp(platform: Platform, gate: Gate): Promise<RunningNest> {
  const onDenied = routeDenied((d) => {
    throw new HttpException({ adapterLevel: true, code: d.code }, 451);
  });
  const ecom9 = Ecom9Module.forRoot({ gate, accountRefId: (req) => resolveFrom(req.headers), resolverError: 'throw', onDenied });
  const app = await build(platform, [ecom9], [DeniedController], { logger: false });
  return listening(app);
}
