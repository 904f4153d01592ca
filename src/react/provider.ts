// Ecom9Provider: where the routes are, a QueryClient when the app has none, and the page's ear on
// `{baseUrl}/events`: an `invalidate` event refetches every query of these routes.
import { QueryClient, QueryClientContext, QueryClientProvider } from '@tanstack/react-query';
import { createContext, createElement, useContext, useEffect, useMemo, useRef, useState, type ReactElement, type ReactNode } from 'react';
import { ecom9Key, routeUrl, type Ecom9Connection } from './query';

/** What the provider needs of an EventSource (the browser's, or one a test or SSR setup supplies). */
export interface EventSourceLike {
  addEventListener(type: string, listener: () => void): void;
  close(): void;
}

export interface Ecom9ProviderProps {
  /** Where the server mounted accountRoutes. Default '/api/ecom9'. */
  baseUrl?: string;
  /** Defaults to the global fetch. */
  fetch?: Ecom9Connection['fetch'];
  /** Use this QueryClient (otherwise the app's, from context, else one of our own). */
  queryClient?: QueryClient;
  /**
   * Listen to `{baseUrl}/events` and refetch on `invalidate` (default true, where EventSource exists).
   * A function opens the stream itself (tests, or a polyfill).
   */
  events?: boolean | ((url: string) => EventSourceLike);
  children?: ReactNode;
}

const Ecom9Context = createContext<Ecom9Connection | undefined>(undefined);

/** The connection the hooks use; outside a provider, '/api/ecom9' with the global fetch. */
export function useEcom9Connection(): Ecom9Connection {
  return useContext(Ecom9Context) ?? DEFAULT_CONNECTION;
}

const DEFAULT_CONNECTION: Ecom9Connection = { baseUrl: '/api/ecom9' };

function Listener({ baseUrl, events, client }: { baseUrl: string; events: Ecom9ProviderProps['events']; client: QueryClient }): null {
  // The stream is opened again only when the base URL or the client change: an inline `events`
  // function (a new one each render) must not reconnect, each connection spending the account's rate.
  const eventsRef = useRef(events);
  eventsRef.current = events;
  const off = events === false;
  useEffect(() => {
    const events = eventsRef.current;
    if (off || events === false) return undefined;
    const url = routeUrl(baseUrl, 'events');
    const G = globalThis as { EventSource?: new (url: string, init?: { withCredentials?: boolean }) => EventSourceLike };
    // Same-origin credentials, like the data queries' fetch (EventSource sends same-origin cookies by default).
    const source = typeof events === 'function' ? events(url) : G.EventSource ? new G.EventSource(url) : undefined;
    if (!source) return undefined;
    source.addEventListener('invalidate', () => void client.invalidateQueries({ queryKey: ecom9Key(baseUrl) }));
    return () => source.close();
  }, [baseUrl, off, client]);
  return null;
}

export function Ecom9Provider({ baseUrl = '/api/ecom9', fetch, queryClient, events = true, children }: Ecom9ProviderProps): ReactElement {
  const fromApp = useContext(QueryClientContext);
  const [own] = useState(() => (queryClient || fromApp ? undefined : new QueryClient()));
  const client = (queryClient ?? fromApp ?? own) as QueryClient;
  const conn = useMemo<Ecom9Connection>(() => (fetch ? { baseUrl, fetch } : { baseUrl }), [baseUrl, fetch]);
  const inner = createElement(Ecom9Context.Provider, { value: conn }, createElement(Listener, { baseUrl, events, client }), children);
  // The app's own client already provides itself; ours (or one passed in) needs a provider.
  return client === fromApp ? inner : createElement(QueryClientProvider, { client }, inner);
}
