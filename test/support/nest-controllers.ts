// Controllers for what only the Nest adapter has, beside the scenario routes of nest-app.ts: an
// undecorated route, controller-level decorators (and an inherited handler), an exception filter
// reshaping denials, the metering interceptor after guards and throwing handlers, and an app whose
// own auth guard runs before Ecom9Guard (globalGuard: false).
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import {
  Catch,
  Controller,
  Get,
  HttpException,
  NotFoundException,
  Post,
  UseFilters,
  UseGuards,
  type ArgumentsHost,
  type CanActivate,
  type ExceptionFilter,
  type ExecutionContext,
  type Type,
} from '@nestjs/common';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import type { Gate } from 'ecom9-gate';
import { ChargeCredits, Ecom9, Ecom9DeniedException, Ecom9Guard, Ecom9Module, MeterUsage, RequireTier, type Ecom9State } from 'ecom9-gate/nest';
import type { Platform } from './nest-app';
import { charge, meter } from './web-apps';

@Controller()
class NestOnlyController {
  @Get('open')
  open() {
    return { open: true };
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

/** Added to the scenario app (startNestApp's `controllers`) by test/nest.test.ts. */
export const NEST_ONLY_CONTROLLERS: Type[] = [NestOnlyController, ProController, FreeListController, ProListController, FilteredController];

// --- An app with its own auth guard -----------------------------------------------------------

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
export async function startAuthApp(platform: Platform, gate: Gate, globalGuard: boolean): Promise<{ server: Server; url: string; close(): Promise<void> }> {
  const ref = await Test.createTestingModule({
    imports: [Ecom9Module.forRoot({ gate, accountRefId: (req) => req.user?.orgId ?? req.headers['x-account'], globalGuard })],
    controllers: [AuthedController, ForgotGuardController, TwiceController],
  }).compile();
  const app = platform === 'fastify' ? ref.createNestApplication(new FastifyAdapter(), { logger: false }) : ref.createNestApplication({ logger: false });
  await app.listen(0, '127.0.0.1');
  const server = app.getHttpServer() as Server;
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => app.close() };
}
