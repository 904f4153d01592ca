// The scenario app in NestJS, on Express or Fastify: the routes of apps.ts as decorated handlers, a
// controller-level check, an undecorated route, and a controller whose exception filter reshapes
// denials. Built with @nestjs/testing and listening on loopback.
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import {
  Catch,
  Controller,
  Get,
  Module,
  type DynamicModule,
  HttpException,
  InternalServerErrorException,
  NotFoundException,
  Headers,
  Param,
  Post,
  UseFilters,
  UseGuards,
  type CanActivate,
  type ExecutionContext,
  type ArgumentsHost,
  type ExceptionFilter,
  type INestApplication,
  type NestApplicationOptions,
} from '@nestjs/common';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import type { Gate, WebhookHandler } from 'ecom9-gate';
import {
  ChargeCredits,
  Ecom9,
  Ecom9DeniedException,
  Ecom9Guard,
  Ecom9Module,
  MeterUsage,
  RequireEntitlement,
  RequireTier,
  ReserveCredits,
  type Ecom9State,
  type NestDeniedHandler,
} from 'ecom9-gate/nest';
import { answer, resolveFrom } from './apps';
import { work } from './web-apps';

export const PLATFORMS = ['express', 'fastify'] as const;
export type Platform = (typeof PLATFORMS)[number];

const charge = { product: 'ai-images', meter: 'credits', quantity: 5, topUpUrl: 'https://billing.example.com/top-up' };
const video = { product: 'ai-video', meter: 'credits', quantity: 7 };
const meter = { product: 'api-access', meter: 'api_calls' };
const tokens = { product: 'api-access', meter: 'tokens', quantity: 100 };

@Controller()
class GatedController {
  @Get('open')
  open() {
    return { open: true };
  }

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

  @Get('soft')
  @RequireTier('enterprise')
  soft(@Ecom9() ecom9: Ecom9State) {
    return { code: ecom9.decision?.code };
  }

  @Post('images')
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
  @ChargeCredits(charge)
  imagesAgain(@Ecom9() ecom9: Ecom9State) {
    return { ok: true, credits: ecom9.credits };
  }

  @Post('gen')
  @ChargeCredits(charge)
  @ChargeCredits(video)
  gen(@Ecom9() ecom9: Ecom9State) {
    return { credits: ecom9.credits };
  }

  @Post('images/:n')
  @ChargeCredits({ ...charge, quantity: (req) => Number(req.params.n) })
  imagesN(@Param('n') _n: string, @Ecom9() ecom9: Ecom9State) {
    return { credits: ecom9.credits };
  }

  @Post('charge-throws')
  @ChargeCredits({
    ...charge,
    quantity: () => {
      throw new Error('quantity exploded');
    },
  })
  chargeThrows() {
    return { ok: true };
  }

  @Get('metered')
  @MeterUsage(meter)
  metered() {
    return { ok: true };
  }

  @Get('metered-two')
  @MeterUsage(meter)
  @MeterUsage(tokens)
  meteredTwo() {
    return { ok: true };
  }

  @Get('metered-fail')
  @MeterUsage(meter)
  meteredFail() {
    throw new InternalServerErrorException();
  }

  @Get('metered-missing')
  @MeterUsage(meter)
  meteredMissing() {
    throw new NotFoundException();
  }

  @Get('tier-metered')
  @RequireTier('pro')
  @MeterUsage(meter)
  tierMetered() {
    return { ok: true };
  }
}

/** Every check on this controller applies to each of its handlers, before the handler's own. */
@Controller('pro')
@RequireTier('pro')
class ProController {
  @Get('report')
  report(@Ecom9() ecom9: Ecom9State) {
    return { account: ecom9.accountRefId };
  }

  @Post('render')
  @ChargeCredits(charge)
  render(@Ecom9() ecom9: Ecom9State) {
    return { credits: ecom9.credits };
  }
}

/** One inherited handler, two controllers: open in one, gated on pro in the other. */
class BaseListController {
  @Get('list')
  list() {
    return { listed: true };
  }
}
@Controller('free-list')
class FreeListController extends BaseListController {}
@Controller('pro-list')
@RequireTier('pro')
class ProListController extends BaseListController {}

/** An app's own filter, reshaping every HttpException (ecom9's denials among them). */
@Catch(HttpException)
class ReshapeFilter implements ExceptionFilter {
  catch(err: HttpException, host: ArgumentsHost) {
    const res = host.switchToHttp().getResponse();
    const body = {
      reshaped: true,
      denial: err instanceof Ecom9DeniedException ? err.decision.code : null,
      status: err.getStatus(),
      problem: err.getResponse(),
    };
    if (res.raw) void res.code(418).header('content-type', 'application/json').send(body);
    else res.status(418).type('json').send(JSON.stringify(body));
  }
}

@Controller('filtered')
@UseFilters(ReshapeFilter)
class FilteredController {
  @Get()
  @RequireTier('enterprise')
  filtered() {
    return { ok: true };
  }
}

export interface NestAppOptions {
  handlers?: Record<string, WebhookHandler>;
  onDenied?: NestDeniedHandler;
  app?: NestApplicationOptions;
  /** forRootAsync, the gate from an injected provider. */
  async?: boolean;
  /** app.setGlobalPrefix(prefix) before init. */
  prefix?: string;
}

export interface RunningNest {
  app: INestApplication;
  server: Server;
  url: string;
  close(): Promise<void>;
}

const GATE = Symbol('test gate');

/** Stands in for an app's config module: it provides the gate that forRootAsync's factory injects. */
@Module({})
class ConfigModule {}
const configModule = (gate: Gate): DynamicModule => ({ module: ConfigModule, providers: [{ provide: GATE, useValue: gate }], exports: [GATE] });

/** Builds and initialises the app (init rejects on a bad option or a missing raw body). */
export async function createNestApp(platform: Platform, gate: Gate, opts: NestAppOptions = {}): Promise<INestApplication> {
  const module = {
    accountRefId: (req: { headers: Record<string, string> }) => resolveFrom(req.headers),
    ...(opts.onDenied ? { onDenied: opts.onDenied } : {}),
  };
  const route = { webhookPath: '/webhooks/ecom9', ...(opts.handlers ? { webhookHandlers: opts.handlers } : {}) };
  const ecom9 = opts.async
    ? Ecom9Module.forRootAsync({ ...route, imports: [configModule(gate)], inject: [GATE], useFactory: async (g: Gate) => ({ gate: g, ...module }) })
    : Ecom9Module.forRoot({ gate, ...module, ...route });
  const builder = Test.createTestingModule({
    imports: [ecom9],
    controllers: [GatedController, ProController, FilteredController, FreeListController, ProListController],
  });
  const ref = await builder.compile();
  const appOptions: NestApplicationOptions = { rawBody: true, logger: false, ...opts.app };
  const app = platform === 'fastify' ? ref.createNestApplication(new FastifyAdapter(), appOptions) : ref.createNestApplication(appOptions);
  if (opts.prefix) app.setGlobalPrefix(opts.prefix);
  await app.init();
  return app;
}

export async function startNestApp(platform: Platform, gate: Gate, opts: NestAppOptions = {}): Promise<RunningNest> {
  const app = await createNestApp(platform, gate, opts);
  await app.listen(0, '127.0.0.1');
  const server = app.getHttpServer() as Server;
  return { app, server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => app.close() };
}

/** An app's auth guard: the account comes from `authorization: Bearer <org>` and lands on req.user. */
class AuthGuard implements CanActivate {
  canActivate(ctx: ExecutionContext): boolean {
    const req = ctx.switchToHttp().getRequest();
    const org = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    if (org) req.user = { orgId: org };
    return org !== undefined;
  }
}

@Controller('authed')
@UseGuards(AuthGuard, Ecom9Guard)
class AuthedController {
  @Get()
  @RequireTier('pro')
  authed(@Ecom9() ecom9: Ecom9State) {
    return { account: ecom9.accountRefId };
  }
}

/** The guard applied again on top of the global one: each charge must still be made once. */
@Controller('twice')
@UseGuards(Ecom9Guard)
class TwiceController {
  @Post()
  @ChargeCredits(charge)
  twice(@Ecom9() ecom9: Ecom9State) {
    return { credits: ecom9.credits };
  }
}

/** Decorated but never given the guard (a mistake with globalGuard: false). */
@Controller('forgot-guard')
class ForgotGuardController {
  static runs = 0;
  @Get()
  @RequireTier('pro')
  forgot() {
    ForgotGuardController.runs++;
    return { served: true };
  }
}
export const forgotGuardRuns = () => ForgotGuardController.runs;

/** An app whose account is set by its own controller-level auth guard (else `x-account`); `globalGuard` as given. */
export async function startAuthApp(platform: Platform, gate: Gate, globalGuard: boolean): Promise<RunningNest> {
  const ref = await Test.createTestingModule({
    imports: [Ecom9Module.forRoot({ gate, accountRefId: (req) => req.user?.orgId ?? req.headers['x-account'], globalGuard })],
    controllers: [AuthedController, ForgotGuardController, TwiceController],
  }).compile();
  const app = platform === 'fastify' ? ref.createNestApplication(new FastifyAdapter(), { logger: false }) : ref.createNestApplication({ logger: false });
  await app.listen(0, '127.0.0.1');
  const server = app.getHttpServer() as Server;
  return { app, server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => app.close() };
}
