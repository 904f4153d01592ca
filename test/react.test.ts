// @vitest-environment happy-dom
// ecom9-gate/react against a real server on loopback: an Express app with accountRoutes and the
// emulator behind it. Hooks return ecom9's bodies, errors carry the problem's code, the account named
// by a hook is checked by the server, and a signed webhook flips RequireTier through the events stream.
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { act, cleanup, render, renderHook, screen, waitFor } from '@testing-library/react';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { createElement, type ReactNode } from 'react';
import { fetch as undiciFetch } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  Ecom9Provider,
  RequireEntitlement,
  RequireTier,
  useAccountStatus,
  useCredits,
  useEntitlement,
  useResolvePublicUrl,
  useTiers,
  useTransactions,
  useUsageSummary,
  type EventSourceLike,
} from 'ecom9-gate/react';

// Spawned by path (the DOM's URL class is not Node's, so no `new URL(..., import.meta.url)` here).
const serverScript = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'route-server.ts');
let proc: ChildProcess;
let server: { url: string };
let control: string;
beforeAll(async () => {
  proc = spawn(process.execPath, ['--import', 'tsx', serverScript], { stdio: ['ignore', 'pipe', 'inherit'] });
  const line = await new Promise<string>((resolve, reject) => {
    let buf = '';
    proc.stdout?.on('data', (d: Buffer) => {
      buf += d.toString();
      if (buf.includes('\n')) resolve(buf.slice(0, buf.indexOf('\n')));
    });
    proc.once('exit', () => reject(new Error('route-server exited')));
  });
  const first = JSON.parse(line) as { url: string; control: string };
  server = { url: first.url };
  control = first.control;
});
afterAll(async () => {
  if (proc && proc.exitCode === null) {
    proc.kill('SIGTERM');
    await new Promise((r) => proc.once('exit', r));
  }
});
afterEach(async () => {
  cleanup();
  await emu('clearFaults');
});

/** Drives the emulator (and the server's client) in the server process. */
async function emu<T = unknown>(op: string, ...args: unknown[]): Promise<T> {
  const res = await undiciFetch(control, { method: 'POST', body: JSON.stringify({ op, args }) });
  const body = (await res.json()) as { out: T; error?: string };
  if (body.error) throw new Error(body.error);
  return body.out;
}
const direct = (name: string, p: object) => emu(`client`, name, p);
const app = {
  get url() {
    return server.url;
  },
};

/** Node's fetch (no CORS between the happy-dom page and the app), signed in as `account`. */
// The DOM's AbortSignal is not Node's: the query's signal is left out.
const fetchAs = (account: string) => (url: string, init?: RequestInit) =>
  undiciFetch(url, { method: init?.method, headers: { ...(init?.headers as object), 'x-account': account } }) as unknown as Promise<Response>;

/** A minimal EventSource over fetch, for a DOM without one: dispatches each named event. */
function eventSourceAs(account: string) {
  return (url: string): EventSourceLike => {
    const listeners = new Map<string, Array<() => void>>();
    let closed = false;
    let reader: { cancel(): Promise<void> } | undefined;
    void (async () => {
      const res = await undiciFetch(url, { headers: { 'x-account': account } });
      const r = (res.body as ReadableStream<Uint8Array>).getReader();
      reader = r;
      if (closed) return void r.cancel();
      const dec = new TextDecoder();
      let buf = '';
      for (;;) {
        const { value: chunk, done } = await r.read();
        if (done) return;
        buf += dec.decode(chunk);
        let end = buf.indexOf('\n\n');
        while (end >= 0) {
          const name = /^event: (.+)$/m.exec(buf.slice(0, end))?.[1];
          buf = buf.slice(end + 2);
          if (name) for (const l of listeners.get(name) ?? []) l();
          end = buf.indexOf('\n\n');
        }
      }
    })().catch(() => {});
    return {
      addEventListener: (type, l) => listeners.set(type, [...(listeners.get(type) ?? []), l]),
      close: () => {
        closed = true;
        void reader?.cancel().catch(() => {});
      },
    };
  };
}

const base = () => `${app.url}/api/ecom9`;

function wrapper(account = 'acme', extra: { events?: boolean } = {}) {
  return ({ children }: { children: ReactNode }) =>
    createElement(Ecom9Provider, { baseUrl: base(), fetch: fetchAs(account), events: extra.events === false ? false : eventSourceAs(account) }, children);
}

describe('hooks', () => {
  it('useAccountStatus answers ecom9’s status, with isLoading, error and refetch', async () => {
    const { result } = renderHook(() => useAccountStatus({ subscription: 'studio-suite', tier: 'pro' }), { wrapper: wrapper() });
    expect(result.current.isLoading).toBe(true);
    await waitFor(() => expect(result.current.isLoading).toBe(false));
    expect(result.current.error).toBeNull();
    expect(result.current.data).toEqual(await direct('accounts.status', { accountRefId: 'acme', subscription: 'studio-suite', tier: 'pro' }));
    expect(typeof result.current.refetch).toBe('function');
  });

  it('useAccountStatus({ tier }) without a subscription (the reference’s snippet) narrows the status to that tier', async () => {
    const { result } = renderHook(() => useAccountStatus({ accountRefId: 'acme', tier: 'enterprise' }), { wrapper: wrapper() });
    await waitFor(() => expect(result.current.data).toBeDefined());
    expect(result.current.data?.is_active).toBe(false);
    expect(result.current.data?.subscriptions).toEqual([]);
  });

  it('useTransactions, useTiers, useResolvePublicUrl, useEntitlement, useCredits and useUsageSummary answer ecom9’s bodies', async () => {
    await emu('addTransactions', 'acme', 2);
    const { result } = renderHook(
      () => ({
        tx: useTransactions({ accountRefId: 'acme', page: 1 }),
        tiers: useTiers(),
        url: useResolvePublicUrl({ productName: 'onboarding', accountRefId: 'acme' }),
        ent: useEntitlement({ productCode: 'pro-api', entitlementCode: 'api_access' }),
        credits: useCredits({ productCode: 'ai-images', meterCode: 'credits' }),
        usage: useUsageSummary({ productCode: 'api-access', meterCode: 'api_calls' }),
      }),
      { wrapper: wrapper() },
    );
    await waitFor(() => expect(Object.values(result.current).every((q) => q.isSuccess)).toBe(true));
    const r = result.current;
    expect(r.tx.data).toEqual(await direct('transactions.list', { accountRefId: 'acme', page: 1 }));
    expect(r.tiers.data).toEqual(await direct('tiers.list', {}));
    expect(r.url.data).toEqual(await direct('links.resolvePublicUrl', { accountRefId: 'acme', productName: 'onboarding' }));
    expect(r.ent.data?.has_access).toBe(true);
    expect(r.ent.data).toEqual(await direct('entitlements.check', { accountRefId: 'acme', productCode: 'pro-api', entitlementCode: 'api_access' }));
    expect(r.credits.data).toEqual(await direct('credits.balance', { accountRefId: 'acme', productCode: 'ai-images', meterCode: 'credits' }));
    expect(r.usage.data).toEqual(await direct('usage.summary', { accountRefId: 'acme', productCode: 'api-access', meterCode: 'api_calls' }));
  });

  it('an accountRefId naming another account is refused by the server (account_mismatch), with no call to ecom9', async () => {
    await emu('resetCalls');
    const { result } = renderHook(() => useTransactions({ accountRefId: 'globex', page: 1 }), { wrapper: wrapper('acme') });
    await waitFor(() => expect(result.current.error).not.toBeNull());
    expect(result.current.error?.code).toBe('account_mismatch');
    expect(result.current.error?.status).toBe(403);
    expect(result.current.data).toBeUndefined();
    expect(await emu('callCount')).toBe(0);
  });

  it('ecom9 down: the hook’s error carries upstream_unavailable', async () => {
    await emu('inject', { endpoint: 'tiers.list', kind: 'status', status: 503 });
    const { result } = renderHook(() => useTiers({ pageSize: 7 }), { wrapper: wrapper() });
    await waitFor(() => expect(result.current.error).not.toBeNull());
    expect(result.current.error?.code).toBe('upstream_unavailable');
    expect(result.current.error?.status).toBe(503);
  });

  it('uses the app’s QueryClient when there is one', async () => {
    const client = new QueryClient();
    const outer = ({ children }: { children: ReactNode }) =>
      createElement(QueryClientProvider, { client }, createElement(Ecom9Provider, { baseUrl: base(), fetch: fetchAs('acme'), events: false }, children));
    const { result } = renderHook(() => useTiers(), { wrapper: outer });
    await waitFor(() => expect(result.current.isSuccess).toBe(true));
    expect(client.getQueryCache().findAll({ queryKey: ['ecom9', base()] }).length).toBe(1);
  });
});

/** A pro account's page behind RequireTier, showing the paid content; returns the account. */
async function proPage(name: string): Promise<string> {
  const acc = `${name}-${randomUUID().slice(0, 8)}`;
  await emu('setAccount', acc, { customerEmail: `${name}@example.com`, subscriptions: [{ subscription: 'studio-suite', tier: 'pro' }] });
  render(
    createElement(
      wrapper(acc),
      null,
      createElement(RequireTier, { tier: 'pro', subscription: 'studio-suite', fallback: 'Upgrade to Pro', loading: 'loading' }, 'Pro reports'),
    ),
  );
  expect(await screen.findByText('Pro reports')).toBeTruthy();
  return acc;
}

describe('paywalls', () => {
  it('RequireEntitlement shows its children to an entitled account and the fallback to another', async () => {
    const page = (account: string) =>
      render(
        createElement(
          wrapper(account, { events: false }),
          null,
          createElement(RequireEntitlement, { product: 'pro-api', entitlement: 'api_access', fallback: `no-api-${account}` }, `api-${account}`),
        ),
      );
    page('acme');
    page('globex');
    expect(await screen.findByText('api-acme')).toBeTruthy();
    expect(await screen.findByText('no-api-globex')).toBeTruthy();
  });

  it('RequireTier flips to its fallback without a reload when a signed webhook cancels the subscription', async () => {
    const acc = await proPage('flip');
    await act(async () => {
      await new Promise((r) => setTimeout(r, 100)); // the events stream is open
      await emu('setSubscription', acc, 'studio-suite', 'pro', 'canceled');
      await emu('webhook', 'subscription.canceled', acc);
    });
    expect(await screen.findByText('Upgrade to Pro', {}, { timeout: 2_000 })).toBeTruthy();
  });

  it('RequireTier fails closed: a refetch that errors shows the fallback, not the last good answer', async () => {
    const acc = await proPage('closed');
    await act(async () => {
      await new Promise((r) => setTimeout(r, 100)); // the events stream is open
      // ecom9 goes down; a webhook makes the page refetch, and the refetch fails (503).
      await emu('inject', { endpoint: 'accounts.status', kind: 'status', status: 503 });
      await emu('webhook', 'subscription.updated', acc);
    });
    expect(await screen.findByText('Upgrade to Pro', {}, { timeout: 2_000 })).toBeTruthy();
  });
});
