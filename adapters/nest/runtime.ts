// The module's binding, guard and interceptor. Each route's plan (the shared builder's middlewares,
// made from its decorators) is made once, on its first request; a route without a decorator costs one
// WeakMap lookup and never reaches ecom9.
import { Inject, type CallHandler, type CanActivate, type ExecutionContext, type NestInterceptor } from '@nestjs/common';
import type { Run } from '../../src/middleware/binding';
import { buildMiddlewares, type GateMiddlewares } from '../../src/middleware/builder';
import { nestBinding, type NestShape } from './binding';
import { ECOM9_ROUTE, type NestRequest, type NestResponse, type RouteSpec } from './decorators';
import { ECOM9_RUNTIME, type Ecom9ModuleOptions, type NestDeniedHandler } from './options';
import { OptionsError } from '../../src/shared/errors';

const GUARDED = Symbol('ecom9-gate:guarded');
// A step answers true to go on to the next one, or throws a denial (the binding's NestShape). A
// denial onDenied let through answers true too: a route's charge after that check still debits.
type Step = Run<NestShape>;
interface Plan {
  steps: Step[];
  meters: Step[];
}

const UNGUARDED =
  'ecom9-gate: this route has ecom9 checks or charges but Ecom9Guard did not run: with Ecom9Module globalGuard: false, apply @UseGuards(..., Ecom9Guard) to it';

export class Ecom9Runtime {
  private readonly plans = new WeakMap<object, WeakMap<object, Plan | null>>();
  private readonly mw: GateMiddlewares<Step, NestRequest, NestDeniedHandler, NestResponse>;

  constructor(readonly options: Ecom9ModuleOptions) {
    this.mw = buildMiddlewares(options.gate, options, nestBinding);
  }

  /** The controller's specs, then the handler's; null for a route without any. */
  plan(ctx: ExecutionContext): Plan | null {
    // By controller, then handler: a method inherited from a base controller is one function in every
    // subclass, each of which may carry its own class-level requirements.
    const handler = ctx.getHandler();
    const controller = ctx.getClass();
    let byHandler = this.plans.get(controller);
    if (!byHandler) this.plans.set(controller, (byHandler = new WeakMap()));
    let plan = byHandler.get(handler);
    if (plan === undefined) {
      const specs: RouteSpec[] = [...(Reflect.getMetadata(ECOM9_ROUTE, controller) ?? []), ...(Reflect.getMetadata(ECOM9_ROUTE, handler) ?? [])];
      plan = specs.length ? this.build(specs) : null;
      byHandler.set(handler, plan);
    }
    return plan;
  }

  private build(specs: RouteSpec[]): Plan {
    const checks: Step[] = [];
    const charges: Step[] = [];
    const meters: Step[] = [];
    for (const s of specs) {
      // The decorator's overloads admitted `undefined` tiers only with atLeast; the builder checks it again.
      if (s.kind === 'tier') checks.push(this.mw.requireTier(s.tiers as string, s.opts));
      else if (s.kind === 'entitlement') {
        const { product, entitlement, ...opts } = s.opts;
        checks.push(this.mw.requireEntitlement(product, entitlement, opts));
      } else if (s.kind === 'charge') charges.push(this.mw.chargeCredits(s.opts));
      else if (s.kind === 'reserve') charges.push(this.mw.reserveCredits(s.opts));
      else meters.push(this.mw.meterUsage(s.opts));
    }
    // Checks before charges: a request refused on its tier is never debited.
    return { steps: [...checks, ...charges], meters };
  }
}

/** Runs the route's checks and charges in turn; the first denial is thrown (or handed to onDenied). */
export class Ecom9Guard implements CanActivate {
  /** @internal Nest builds it from the module's runtime (ECOM9_RUNTIME). */
  constructor(private readonly rt: Ecom9Runtime) {}

  canActivate(ctx: ExecutionContext): boolean | Promise<boolean> {
    if (ctx.getType() !== 'http') return true;
    const plan = this.rt.plan(ctx);
    if (plan === null || plan.steps.length === 0) return true;
    return this.run(ctx, plan.steps, 0);
  }

  // Synchronous while every step is (a warm cache and a synchronous resolver): no promise at all.
  private run(ctx: ExecutionContext, steps: Step[], from: number): boolean | Promise<boolean> {
    // args[0] is what switchToHttp().getRequest() returns, without the four objects that call makes.
    const req = ctx.getArgByIndex(0);
    // Applied twice (globally and with @UseGuards): the second run would charge again.
    if (from === 0 && req[GUARDED] === true) return true;
    req[GUARDED] = true;
    for (let i = from; i < steps.length; i++) {
      const out = (steps[i] as Step)(req, ctx, undefined);
      // `true` (the warm path) first: asking a boolean for `then` reads Boolean.prototype.
      if (out !== true) return out.then(() => this.run(ctx, steps, i + 1));
    }
    return true;
  }
}

// Applied by hand: the package needs no decorator support (nor emitDecoratorMetadata) from the user's build.
Inject(ECOM9_RUNTIME)(Ecom9Guard, undefined, 0);

/** Starts each @MeterUsage of the route: it records once the response has finished, if it counts. */
export class Ecom9Interceptor implements NestInterceptor {
  /** @internal Nest builds it from the module's runtime (ECOM9_RUNTIME). */
  constructor(private readonly rt: Ecom9Runtime) {}

  intercept(ctx: ExecutionContext, next: CallHandler) {
    if (ctx.getType() === 'http') {
      const plan = this.rt.plan(ctx);
      const req = ctx.getArgByIndex(0);
      // With globalGuard: false a decorated route left without @UseGuards(Ecom9Guard) fails, never serves ungated.
      if (plan?.steps.length && req[GUARDED] !== true) throw new OptionsError(UNGUARDED);
      if (plan?.meters.length) {
        for (const meter of plan.meters) meter(req, ctx, undefined);
      }
    }
    return next.handle();
  }
}
