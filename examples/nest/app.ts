// The NestJS version of the example API: Ecom9Module.forRootAsync builds the gate from an injected
// config provider; the decorators gate and meter the routes; webhooks arrive on /webhooks/ecom9.
import { Controller, Get, Module, Post, Query, type DynamicModule, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { createGate, type Gate, type GateOptions } from 'ecom9-gate';
import { ChargeCredits, Ecom9, Ecom9Module, MeterUsage, RequireEntitlement, RequireTier, type Ecom9State } from 'ecom9-gate/nest';

const GATE_OPTIONS = Symbol('gate options');

@Controller()
class ApiController {
  @Get('reports')
  @RequireTier('pro', { upgradeLink: true })
  reports(@Ecom9() ecom9: Ecom9State) {
    return { report: 'quarterly numbers', account: ecom9.accountRefId };
  }

  @Get('v1/search')
  @RequireEntitlement('pro-api', 'api_access')
  @MeterUsage({ product: 'api-access', meter: 'api_calls' })
  search(@Query('q') q = '') {
    return { results: [`match for ${q}`] };
  }

  @Post('images')
  @ChargeCredits({ product: 'ai-images', meter: 'credits', quantity: 5, topUpUrl: 'https://example.com/top-up' })
  images(@Ecom9() ecom9: Ecom9State) {
    return { image: 'https://example.com/generated.png', credits: ecom9.credits };
  }
}

/** Stands in for an app's ConfigModule. */
@Module({})
class ConfigModule {
  static with(options: GateOptions): DynamicModule {
    return { module: ConfigModule, providers: [{ provide: GATE_OPTIONS, useValue: options }], exports: [GATE_OPTIONS] };
  }
}

// An auth guard would set req.user; the example reads the account from a header.
const accountRefId = (req: { headers: Record<string, string | undefined> }) => req.headers['x-account-id'];

export async function buildApp(options: GateOptions = {}, platform: 'express' | 'fastify' = 'express'): Promise<{ app: INestApplication; gate: Gate }> {
  let gate!: Gate;
  @Module({
    imports: [
      Ecom9Module.forRootAsync({
        imports: [ConfigModule.with(options)],
        inject: [GATE_OPTIONS],
        useFactory: (o: GateOptions) => {
          gate = createGate(o);
          return { gate, accountRefId };
        },
        webhookPath: '/webhooks/ecom9',
      }),
    ],
    controllers: [ApiController],
  })
  class AppModule {}
  // rawBody: the webhook route checks the signature of the bytes as sent.
  const app =
    platform === 'fastify'
      ? await NestFactory.create(AppModule, new FastifyAdapter(), { rawBody: true, logger: ['error', 'warn'] })
      : await NestFactory.create(AppModule, { rawBody: true, logger: ['error', 'warn'] });
  return { app, gate };
}
