// chargeCredits with an Idempotency-Key, for every adapter: the key is claimed for the account and
// the request's fingerprint before anything is charged; a reuse is answered from what the first
// request left (a replay of its response, 422, 409) without running the route or asking ecom9; a
// first request that is denied gives the key back; one that runs keeps its response for the reuses.
import type { Gate } from '../gate/create-gate';
import { deny, type DeniedDecision } from '../gate/decision';
import { readIdempotencyKey, requestFingerprint } from '../idempotency/fingerprint';
import { replayHeaders, type Begin, type KeyRefusal } from '../idempotency/keeper';
import type { KeptResponse } from '../idempotency/store';
import type { Answer, Binding, Finished, Shape } from './binding';
import { mergeState, resolveAccount, type AccountResolver, type ChargeRequest, type Ecom9State } from './guards';

const freeze = (code: KeyRefusal, detail: string, retryAfterSeconds?: number): DeniedDecision =>
  Object.freeze(deny(code, 'cache', retryAfterSeconds === undefined ? { detail } : { detail, retryAfterSeconds })) as DeniedDecision;

/** The problem+json of each answer about a key itself. */
const REFUSALS: Record<KeyRefusal, DeniedDecision> = {
  idempotency_key_mismatch: freeze(
    'idempotency_key_mismatch',
    'This Idempotency-Key was first used on a different request (method, path, query or body); use a new key.',
  ),
  idempotency_key_in_flight: freeze('idempotency_key_in_flight', 'The first request with this Idempotency-Key has not finished; retry later.', 1),
  idempotency_key_not_replayable: freeze(
    'idempotency_key_not_replayable',
    'The first request with this Idempotency-Key ran, but its response was not kept (too large, or cut short); use a new key.',
  ),
  idempotency_unavailable: freeze('idempotency_unavailable', 'Idempotency-Keys cannot be checked right now; retry later.', 1),
  idempotency_key_invalid: freeze('idempotency_key_invalid', 'An Idempotency-Key is 1 to 255 printable ASCII characters.'),
};

/** The fingerprint of a request: its target and body as the binding reads them. */
export async function fingerprintOf<S extends Shape>(b: Binding<S>, req: S['req'], res: S['res']): Promise<string> {
  return requestFingerprint(b.target(req), await b.body(req, res));
}

/** A kept response as an answer, marked as a replay. Bytes as a Buffer where there is one (Express and Fastify send a Buffer as bytes). */
function replayAnswer(r: KeptResponse): Answer {
  const body = typeof Buffer === 'undefined' ? r.body : Buffer.from(r.body.buffer, r.body.byteOffset, r.body.byteLength);
  return { status: r.status, headers: Object.fromEntries(replayHeaders(r)), body };
}

/** Keeps what the route answered, for the reuses of its key. */
function keeping<Req, Res>(run: Extract<Begin, { kind: 'run' }>, maxBodyBytes: number): Finished<Req, Res> {
  const done = (
    _req: Req,
    _res: Res,
    status: number,
    _aborted: boolean,
    _sent?: unknown,
    captured?: { headers: Iterable<[string, unknown]>; body: Uint8Array | undefined },
  ) => run.complete({ status, headers: captured?.headers ?? [], body: captured?.body });
  return Object.assign(done, { keepBody: maxBodyBytes });
}

interface Hooks<S extends Shape> {
  settle(req: S['req'], res: S['res'], next: S['next'], state: Ecom9State, onDenied: S['denied'] | undefined): S['out'];
  deny(req: S['req'], res: S['res'], next: S['next'], d: DeniedDecision): S['out'];
  onDenied: S['denied'] | undefined;
}

/**
 * The keyed path of chargeCredits and reserveCredits (whose hold is settled once the response is
 * finished, as on the plain path). An answer about the key itself (400 malformed, 422 another
 * request, 409 in flight or not replayable, 503 store down) is the problem+json, never handed to
 * onDenied (which could let the request through).
 */
export function idempotentCharge<S extends Shape>(
  gate: Gate,
  b: Binding<S>,
  resolver: AccountResolver<S['req']>,
  report: (err: unknown) => void,
  charge: (req: S['req'], meta: ChargeRequest) => Promise<Ecom9State>,
  h: Hooks<S>,
  /** The charge's product and meter: two charges on one route keep their keys apart. */
  scope: { product: string; meter: string; kind?: 'charge' | 'reserve' },
): (req: S['req'], res: S['res'], next: S['next'], header: string) => S['out'] | Promise<S['out']> {
  const namespace = `${scope.kind ?? 'charge'}\u0000${scope.product}\u0000${scope.meter}`;
  const run = async (req: S['req'], res: S['res'], next: S['next'], key: string): Promise<S['out']> => {
    const r = await resolveAccount(resolver, req, report);
    if (typeof r !== 'string') return h.settle(req, res, next, { accountRefId: undefined, decision: r }, h.onDenied);
    const fp = await fingerprintOf(b, req, res);
    const begun = await gate.idempotency.begin(namespace, r, key, fp);
    if (begun.kind === 'replay') return b.send(req, res, next, replayAnswer(begun.response));
    if (begun.kind === 'deny') return h.deny(req, res, next, REFUSALS[begun.code]);
    let state: Ecom9State;
    try {
      // The fingerprint is in the event key: a request the store lost track of is charged anew
      // unless it is the same request (then ecom9 counts the debit once).
      state = await charge(req, { idempotencyKey: `${key}\u0000${fp}`, route: b.route(req), accountRefId: r });
    } catch (err) {
      begun.release();
      throw err;
    }
    if (state.decision?.allowed !== true) {
      begun.release();
      return h.settle(req, res, next, state, h.onDenied);
    }
    b.setState(req, mergeState(b.state(req), state));
    const keep = keeping<S['req'], S['meterRes']>(begun, gate.idempotency.maxBodyBytes);
    const hold = state.hold;
    if (hold === undefined) return b.finished(req, res, next, keep);
    const keepAndSettle: typeof keep = Object.assign(
      (...args: Parameters<typeof keep>) => {
        keep(...args);
        void hold.settle().catch(() => {});
      },
      { keepBody: keep.keepBody },
    );
    return b.finished(req, res, next, keepAndSettle);
  };
  return (req, res, next, header) => {
    const key = readIdempotencyKey(header);
    if (typeof key !== 'string') return h.deny(req, res, next, REFUSALS.idempotency_key_invalid);
    return run(req, res, next, key).catch((err: unknown) => b.fail(req, res, next, err));
  };
}
