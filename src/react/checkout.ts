// Going to a tier's checkout: resolve its link through `{prefix}/public-url` on click (a signed link
// is made for this account at that moment, never cached), then follow it or hand it to the app.
// Shared by PricingTable and UpgradeButton.
import { useQueryClient } from '@tanstack/react-query';
import { useCallback, useRef, useState } from 'react';
import { useEcom9Connection } from './provider';
import { Ecom9RequestError, publicUrlQuery } from './query';

/** Only web links are followed or shown: a link from the server must never become `javascript:`. */
export const webUrl = (u: unknown): string | undefined => (typeof u === 'string' && /^https?:\/\//i.test(u) ? u : undefined);

export interface CheckoutState {
  /** The tier label being resolved now. */
  busy?: string;
  /** The tier whose last attempt failed, and why (the problem's code). */
  failed?: { tier: string; code: string };
}

export function useCheckout(subscription: string, onSelect: ((url: string, tier: string) => void) | undefined, accountRefId?: string) {
  const conn = useEcom9Connection();
  const client = useQueryClient();
  const [state, setState] = useState<CheckoutState>({});
  // A second click while one resolves is ignored (a ref: the state of this render may be stale).
  const inFlight = useRef(false);
  const choose = useCallback(
    async (tier: string) => {
      if (inFlight.current) return;
      inFlight.current = true;
      setState({ busy: tier });
      try {
        const q = publicUrlQuery(conn, { subscriptionName: subscription, tierName: tier, ...(accountRefId ? { accountRefId } : {}) });
        const url = webUrl((await client.fetchQuery({ ...q, staleTime: 0, gcTime: 0 })).public_url);
        if (url === undefined) throw new Ecom9RequestError('The checkout link is not a web address.', 200, 'invalid_link', undefined);
        setState({});
        if (onSelect) onSelect(url, tier);
        else (globalThis as { location?: { assign(url: string): void } }).location?.assign(url);
      } catch (err) {
        setState({ failed: { tier, code: err instanceof Ecom9RequestError ? err.code : 'internal' } });
      } finally {
        inFlight.current = false;
      }
    },
    [conn, client, subscription, accountRefId, onSelect],
  );
  return { ...state, choose };
}
