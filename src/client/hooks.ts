// createGate's hook into its client (how each call ended, for gate.health()), handed in under a symbol
// so that createClient's published signature holds nothing internal. Not exported from the package.
import type { EndpointName } from '../shared/endpoints';

export const CLIENT_HOOKS: unique symbol = Symbol('ecom9-gate client hooks');

export interface ClientHooks {
  onOutcome?: (endpoint: EndpointName, error: unknown) => void;
}
