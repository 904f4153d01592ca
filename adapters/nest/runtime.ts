// The module's guard and interceptor. Each route's plan (the shared guards of src/middleware, built
// from its decorators) is made once, on its first request; a route without a decorator costs one
// WeakMap lookup and never reaches ecom9.
import { Inject, type CallHandler, type CanActivate, type ExecutionContext, type NestInterceptor } from '@nestjs/common';
import type { Decision } from '../../src/index';
import {
  chargeGuard,
  denialResponse,
  entitlementGuard,
  isPromise,
  mergeState,
  tierGuard,
  type ChargeRequest,
  type Ecom9State,
  type MaybePromise,
} from '../../src/middleware/guards';
import { meterGuard } from '../../src/middleware/meter';
import { ECOM9_ROUTE, type NestRequest, type NestResponse, type RouteSpec } from './decorators';
import { ECOM9_RUNTIME, Ecom9DeniedException, type Ecom9ModuleOptions } from './options';
import { OptionsError } from '../../src/shared/errors';

const GUARDED = Symbol('ecom9-gate:guarded');
const UNGUARDED =
  'ecom9-gate: this route has ecom9 checks or charges but Ecom9Guard did not run: with Ecom9Module globalGuard: false, apply @UseGuards(..., Ecom9Guard) to it';

type Step = (req: NestRequest) => MaybePromise<Ecom9State>;
interface Plan {
  steps: Step[];
  meters: ((req: NestRequest, res: NestResponse, raw: NestResponse) => void)[];
}

// Express keeps the route pattern on req.route, Fastify on routeOptions: the pattern, never the raw URL.
const routeOf = (req: NestRequest): string => `${req.method} ${req.routeOptions?.url ?? `${req.baseUrl ?? ''}${req.route?.path ?? req.url}`}`;
const idempotencyKeyOf = (req: NestRequest): string | undefined => (req.headers['idempotency-key'] as string | undefined) || undefined;
const meterReaders = { knownRef: (req: NestRequest) => req.ecom9?.accountRefId ?? undefined, idempotencyKey: idempotencyKeyOf, route: routeOf };

export class Ecom9Runtime {
  private readonly plans = new WeakMap<object, WeakMap<object, Plan | null>>();
  readonly report: (err: unknown) => void;

  constructor(readonly options: Ecom9ModuleOptions) {
    this.report = (err) => options.gate.reportError(err);
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
    const { gate, accountRefId: resolver } = this.options;
    const report = this.report;
    const checks: Step[] = [];
    const charges: Step[] = [];
    const meters: Plan['meters'] = [];
    for (const s of specs) {
      if (s.kind === 'tier') checks.push(tierGuard(gate, resolver, report, s.tiers, s.opts));
      else if (s.kind === 'entitlement') checks.push(entitlementGuard(gate, resolver, report, s.opts));
      else if (s.kind === 'charge') {
        const charge = chargeGuard(gate, resolver, report, s.opts);
        charges.push((req) => charge(req, { idempotencyKey: idempotencyKeyOf(req), route: routeOf(req) } satisfies ChargeRequest));
      } else meters.push(meterGuard(gate, resolver, report, s.opts, meterReaders));
    }
    // Checks before charges: a request refused on its tier is never debited.
    return { steps: [...checks, ...charges], meters };
  }
}

/** Runs the route's checks and charges in turn; the first denial is thrown (or handed to onDenied). */
export class Ecom9Guard implements CanActivate {
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
      const out = (steps[i] as Step)(req);
      if (isPromise(out)) return out.then((state) => (this.settle(ctx, req, state) ? this.run(ctx, steps, i + 1) : true));
      if (!this.settle(ctx, req, out)) return true;
    }
    return true;
  }

  /** True to go on to the next step; false when onDenied let a denied request through; throws a denial. */
  private settle(ctx: ExecutionContext, req: NestRequest, state: Ecom9State): boolean {
    req.ecom9 = mergeState(req.ecom9, state);
    const decision = state.decision as Decision;
    if (decision.allowed) return true;
    if (this.rt.options.onDenied && this.rt.options.onDenied(decision, ctx) === true) return false;
    const { headers, body } = denialResponse(decision);
    // Set on the response too, so Nest's own filter sends them; a filter that reshapes the body sets its own content-type.
    const res = ctx.switchToHttp().getResponse();
    for (const [name, value] of Object.entries(headers)) res.raw ? res.header(name, value) : res.setHeader(name, value);
    throw new Ecom9DeniedException(decision, headers, body);
  }
}

// Applied by hand: the package needs no decorator support (nor emitDecoratorMetadata) from the user's build.
Inject(ECOM9_RUNTIME)(Ecom9Guard, undefined, 0);

/** Starts each @MeterUsage of the route: it records once the response has finished, if it counts. */
export class Ecom9Interceptor implements NestInterceptor {
  constructor(private readonly rt: Ecom9Runtime) {}

  intercept(ctx: ExecutionContext, next: CallHandler) {
    if (ctx.getType() === 'http') {
      const plan = this.rt.plan(ctx);
      const req = ctx.getArgByIndex(0);
      // With globalGuard: false a decorated route left without @UseGuards(Ecom9Guard) fails, never serves ungated.
      if (plan?.steps.length && req[GUARDED] !== true) throw new OptionsError(UNGUARDED);
      if (plan?.meters.length) {
        const res = ctx.getArgByIndex(1);
        for (const meter of plan.meters) meter(req, res, res.raw ?? res);
      }
    }
    return next.handle();
  }
}
