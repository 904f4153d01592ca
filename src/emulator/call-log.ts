// One call that reached the emulator's ecom9 routes: what was asked and what was answered.
import type { EndpointName } from '../shared/endpoints';

/** One request the emulator answered (the console's call log). */
export interface CallRecord {
  /** Increases by one per call, from 1: `GET /__emulator/calls?after=id` reads the calls since. */
  id: number;
  endpoint: EndpointName | 'unknown';
  method: string;
  path: string;
  query: Record<string, string>;
  body: unknown;
  accountRefId?: string;
  at: number;
  /** The status answered; absent while held (latency) and for a dropped connection. */
  status?: number;
  /** The body answered, when JSON. */
  response?: unknown;
}
