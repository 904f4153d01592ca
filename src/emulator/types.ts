// Every type of ecom9-gate/emulator, and no value: the emulator entry and ecom9-gate/testing (whose
// TestGate holds an Emulator) re-export this (`export type * from`), so a type their signatures name
// is imported from either. Types only, for the reason src/types.ts gives.
// fixture-types.ts holds the fixture types alone, as written and as parsed.
export type * from './fixture-types';
export type { BuiltWebhook, Emulator, EmulatorAccountUpdate, EmulatorOptions, EmulatorSubscription, WebhookReply } from './emulator-types';
export type { EndpointName } from '../shared/endpoints';
export type { FaultSpec, FaultKind } from './faults';
export type { CallRecord } from './call-log';
export type { Delivery } from './admin';
export type { LedgerRow, UsageRow } from './state';
export type { WebhookPayloadInput, WebhookSendOptions } from './webhooks';
