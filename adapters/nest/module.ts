// Ecom9Module: forRoot / forRootAsync register the options, the guard (APP_GUARD), the metering
// interceptor (APP_INTERCEPTOR) and, with `webhookPath`, the webhook route. Providers are factories
// with explicit tokens, so nothing depends on emitDecoratorMetadata in anyone's build.
import {
  Inject,
  Module,
  Optional,
  RequestMethod,
  type DynamicModule,
  type MiddlewareConsumer,
  type ModuleMetadata,
  type NestModule,
  type Provider,
} from '@nestjs/common';
import { APP_GUARD, APP_INTERCEPTOR, HttpAdapterHost } from '@nestjs/core';
import type { WebhookHandler } from '../../src/index';
import { checkAdapterOptions } from '../../src/middleware/guards';
import { checkWebhookPath, webhookHandlers } from '../../src/middleware/webhook-route';
import { ECOM9_RUNTIME, type Ecom9ModuleOptions } from './options';
import { Ecom9Guard, Ecom9Interceptor, Ecom9Runtime } from './runtime';
import { ECOM9_GATE, ECOM9_RAW_BODY, RawBodyWatch, webhookController, webhookPrecheckMiddleware } from './webhook';
import { readWebhookBody } from './webhook-body';
import { OptionsError } from '../../src/shared/errors';

export const ECOM9_OPTIONS = Symbol.for('ecom9-gate:options');
const ECOM9_WEBHOOK_PATH = Symbol.for('ecom9-gate:webhook-path');

/** Where the routes live: known when the module is declared, since Nest maps routes before any factory runs. */
export interface Ecom9RouteOptions {
  /** Serve ecom9's webhooks here (POST; the app must keep the raw body: `{ rawBody: true }`). */
  webhookPath?: string;
  /** Registered on the gate, like gate.onWebhook. */
  webhookHandlers?: Record<string, WebhookHandler>;
  /**
   * Register Ecom9Guard for every route (APP_GUARD). Global guards run before controller guards, so
   * when an auth guard applied with @UseGuards sets `req.user`, pass false and apply
   * `@UseGuards(AuthGuard, Ecom9Guard)` where the decorators are. @default true
   */
  globalGuard?: boolean;
}

export interface Ecom9ForRootOptions extends Ecom9ModuleOptions, Ecom9RouteOptions {}

export interface Ecom9AsyncOptions extends Ecom9RouteOptions, Pick<ModuleMetadata, 'imports'> {
  // biome-ignore lint/suspicious/noExplicitAny: Nest's own signature for a factory's injected values
  useFactory: (...args: any[]) => Ecom9ModuleOptions | Promise<Ecom9ModuleOptions>;
  // biome-ignore lint/suspicious/noExplicitAny: Nest's InjectionToken list
  inject?: any[];
}

function checked(o: Ecom9ModuleOptions, from: string): Ecom9ModuleOptions {
  checkAdapterOptions(from, o?.gate, o?.accountRefId);
  if (o.onDenied !== undefined && typeof o.onDenied !== 'function') throw new OptionsError(`ecom9-gate: ${from} option "onDenied" must be a function`);
  return o;
}

export class Ecom9Module implements NestModule {
  /** @internal Nest builds it, with the webhook path forRoot was given (ECOM9_WEBHOOK_PATH). */
  constructor(private readonly webhookPath: string | undefined) {}

  /** `Ecom9Module.forRoot({ gate, accountRefId, webhookPath? })`: global, so every controller's decorators work. */
  static forRoot(options: Ecom9ForRootOptions): DynamicModule {
    const opts = checked(options, 'Ecom9Module.forRoot');
    return Ecom9Module.assemble({ provide: ECOM9_OPTIONS, useValue: opts }, options, []);
  }

  /** The gate built from injected config: `forRootAsync({ imports, inject: [ConfigService], useFactory: (c) => ({ gate, accountRefId }) })`. */
  static forRootAsync(options: Ecom9AsyncOptions): DynamicModule {
    if (typeof options?.useFactory !== 'function') throw new OptionsError('ecom9-gate: Ecom9Module.forRootAsync option "useFactory" must be a function');
    const factory = async (...args: unknown[]) => checked(await options.useFactory(...args), 'Ecom9Module.forRootAsync useFactory result');
    return Ecom9Module.assemble({ provide: ECOM9_OPTIONS, useFactory: factory, inject: options.inject ?? [] }, options, options.imports ?? []);
  }

  private static assemble(optionsProvider: Provider, route: Ecom9RouteOptions, imports: NonNullable<ModuleMetadata['imports']>): DynamicModule {
    const path = route.webhookPath;
    if (path !== undefined) checkWebhookPath(path, 'Ecom9Module option "webhookPath"');
    const providers: Provider[] = [
      optionsProvider,
      { provide: ECOM9_RUNTIME, useFactory: (o: Ecom9ModuleOptions) => new Ecom9Runtime(o), inject: [ECOM9_OPTIONS] },
      { provide: ECOM9_GATE, useFactory: (o: Ecom9ModuleOptions) => o.gate, inject: [ECOM9_OPTIONS] },
      { provide: APP_INTERCEPTOR, useFactory: (rt: Ecom9Runtime) => new Ecom9Interceptor(rt), inject: [ECOM9_RUNTIME] },
      { provide: ECOM9_WEBHOOK_PATH, useValue: path },
    ];
    if (route.globalGuard !== false) providers.push({ provide: APP_GUARD, useFactory: (rt: Ecom9Runtime) => new Ecom9Guard(rt), inject: [ECOM9_RUNTIME] });
    if (path !== undefined) {
      const handlers = route.webhookHandlers;
      providers.push({
        provide: ECOM9_RAW_BODY,
        useFactory: (host: HttpAdapterHost, o: Ecom9ModuleOptions) => {
          webhookHandlers(o.gate, handlers ? { handlers } : {});
          readWebhookBody(host, o.gate);
          return new RawBodyWatch(host);
        },
        inject: [HttpAdapterHost, ECOM9_OPTIONS],
      });
    }
    return {
      module: Ecom9Module,
      global: true,
      imports,
      providers,
      controllers: path === undefined ? [] : [webhookController(path)],
      exports: [ECOM9_OPTIONS, ECOM9_GATE, ECOM9_RUNTIME],
    };
  }

  configure(consumer: MiddlewareConsumer): void {
    if (this.webhookPath !== undefined) consumer.apply(webhookPrecheckMiddleware).forRoutes({ path: this.webhookPath, method: RequestMethod.ALL });
  }
}
// The decorators, applied by hand (see the opening comment).
Optional()(Ecom9Module, undefined, 0);
Inject(ECOM9_WEBHOOK_PATH)(Ecom9Module, undefined, 0);
Module({})(Ecom9Module);
