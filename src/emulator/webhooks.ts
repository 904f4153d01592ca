// Webhooks from the emulator, signed the Standard Webhooks way, as ecom9 would send them on a change.
import { randomUUID } from 'node:crypto';
import { webhookHeaders } from '../webhooks/signature';
import type { EmulatorState } from './state';

/** A webhook to send: the event and account; what is left out is filled in from the account's state. */
export interface WebhookPayloadInput {
  event: string;
  account_ref_id: string;
  transaction_id?: string;
  subscription_id?: string;
  is_active?: boolean;
  label_name?: string | null;
  timestamp?: string;
  [extra: string]: unknown;
}

/** How a webhook is signed and sent (a forged, stale or slow delivery for tests). */
export interface WebhookSendOptions {
  /** Sign with another secret (a forged delivery). */
  secret?: string;
  id?: string;
  /** Unix seconds (a stale delivery). */
  timestamp?: number;
  /** Send this signature header instead. */
  signature?: string;
  /** sendWebhook gives up (rejects with a TimeoutError) after this long, body included. @default 10000 */
  timeoutMs?: number;
}

/** The full payload, filling in what the account's current state says. */
export function webhookPayload(state: EmulatorState, p: WebhookPayloadInput): Record<string, unknown> {
  const acc = state.accounts.get(p.account_ref_id);
  // The latest change; on a tie the active row (an upgrade ends the old tier at the same instant).
  const latest = acc?.subscriptions.slice().sort((a, b) => b.updatedAt - a.updatedAt || Number(b.state === 'active') - Number(a.state === 'active'))[0];
  const txId = p.transaction_id ?? randomUUID();
  return {
    ...p,
    event: p.event,
    transaction_id: txId,
    account_ref_id: p.account_ref_id,
    subscription_id: p.subscription_id ?? `sub_${txId.replaceAll('-', '').slice(0, 14)}`,
    is_active: p.is_active ?? latest?.state === 'active',
    label_name: p.label_name ?? latest?.tier ?? null,
    timestamp: p.timestamp ?? new Date(state.now()).toISOString(),
  };
}

export function buildWebhook(
  state: EmulatorState,
  secret: string,
  p: WebhookPayloadInput,
  o: WebhookSendOptions = {},
): { body: string; headers: Record<string, string> } {
  const payload = webhookPayload(state, p);
  const body = JSON.stringify(payload);
  const id = o.id ?? `msg_${String(payload.transaction_id)}`;
  // The emulator's clock, like the payload's timestamp: a gate on the same injected clock accepts it.
  const timestamp = o.timestamp ?? Math.floor(state.now() / 1000);
  const headers: Record<string, string> = { 'content-type': 'application/json', ...webhookHeaders({ secret: o.secret ?? secret, id, timestamp, body }) };
  if (o.signature !== undefined) headers['webhook-signature'] = o.signature;
  return { body, headers };
}

export async function sendWebhook(
  state: EmulatorState,
  secret: string,
  url: string,
  p: WebhookPayloadInput,
  o?: WebhookSendOptions,
): Promise<{ status: number; body: string }> {
  const { body, headers } = buildWebhook(state, secret, p, o);
  // A receiver that never answers must not hang the test or script that sent the webhook.
  const signal = AbortSignal.timeout(o?.timeoutMs ?? 10_000);
  const res = await fetch(url, { method: 'POST', headers, body, signal });
  return { status: res.status, body: await res.text() };
}
