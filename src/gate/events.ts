// The gate's instrumentation events on node:diagnostics_channel: every decision and every webhook's
// outcome, each naming its gate (the channels are global; an app may run several gates). Published
// only while a channel has subscribers, so a gate nobody instruments pays one property read.
import diagnostics from 'node:diagnostics_channel';
import type { WebhookResult } from '../webhooks/handler';
import type { PreparedCheck } from './access';
import type { Decision } from './decision';
import { CHANNELS } from '../shared/stats';

/** `hold`: a reservation of reserveCredits (its settlement is a debit, not a decision). */
export type DecisionKind = 'tier' | 'entitlement' | 'credits' | 'hold';

/** On `ecom9-gate:decision`: one per decision a check or a debit returned (a warm hit included). */
export interface DecisionEvent {
  readonly gate: object;
  readonly kind: DecisionKind;
  readonly decision: Decision;
}

/**
 * How a webhook delivery was answered: `applied`, `duplicate`, or the error the sender got back
 * (`invalid_signature`, `malformed_json`, `invalid_payload`, `payload_too_large`,
 * `unsupported_media_type`, `handler_failed`).
 */
export type WebhookOutcome = 'applied' | 'duplicate' | (string & {});

/** On `ecom9-gate:webhook-outcome`: one per delivery handed to gate.handleWebhook. */
export interface WebhookOutcomeEvent {
  readonly gate: object;
  readonly outcome: WebhookOutcome;
  readonly status: number;
}

const decisions = diagnostics.channel(CHANNELS.decision);
const webhookOutcomes = diagnostics.channel(CHANNELS.webhookOutcome);

function published(gate: object, kind: DecisionKind, decision: Decision): Decision {
  if (decisions.hasSubscribers) decisions.publish({ gate, kind, decision } satisfies DecisionEvent);
  return decision;
}

/** The same check, publishing each decision it returns. */
export function observeCheck(check: PreparedCheck, kind: DecisionKind, gate: object): PreparedCheck {
  return {
    peek(ref) {
      const d = check.peek(ref);
      if (d !== undefined && decisions.hasSubscribers) decisions.publish({ gate, kind, decision: d } satisfies DecisionEvent);
      return d;
    },
    check(ref) {
      const p = check.check(ref);
      return decisions.hasSubscribers ? p.then((d) => published(gate, kind, d)) : p;
    },
  };
}

/** A debit's decision, published when it settles. */
export function observeDebit<D extends Decision>(p: Promise<D>, gate: object): Promise<D> {
  return decisions.hasSubscribers ? p.then((d) => published(gate, 'credits', d) as D) : p;
}

/** A reservation's decision, published when it settles. */
export function observeReservation<R extends { readonly decision: Decision }>(p: Promise<R>, gate: object): Promise<R> {
  if (!decisions.hasSubscribers) return p;
  return p.then((r) => {
    published(gate, 'hold', r.decision);
    return r;
  });
}

export function webhookOutcome(r: WebhookResult): WebhookOutcome {
  if (r.status >= 200 && r.status < 300) return r.body.duplicate === true ? 'duplicate' : 'applied';
  return typeof r.body.error === 'string' ? r.body.error : `http_${r.status}`;
}

/** A webhook's answer, published when it settles. */
export function observeWebhook(p: Promise<WebhookResult>, gate: object): Promise<WebhookResult> {
  if (!webhookOutcomes.hasSubscribers) return p;
  return p.then((r) => {
    if (webhookOutcomes.hasSubscribers) webhookOutcomes.publish({ gate, outcome: webhookOutcome(r), status: r.status } satisfies WebhookOutcomeEvent);
    return r;
  });
}
