// The example pages, all through the server's accountRoutes. /app: the signed-in account's plan, the
// tiers, a checkout link and a paywall; a webhook that cancels the plan flips the paywall without a
// reload. /app/billing: the pricing and billing components (billing.tsx).
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { Ecom9Provider, RequireTier, useAccountStatus, useResolvePublicUrl, useTiers } from 'ecom9-gate/react';
import { BillingPage } from './billing';

function Status() {
  const { data, isLoading, error } = useAccountStatus({ subscription: 'studio-suite' });
  if (isLoading) return <p>Loading your plan…</p>;
  if (error) return <p className="error">Could not load your plan ({error.code}).</p>;
  const active = data?.subscriptions.filter((s) => s.is_active).map((s) => s.subscription_tier.label_name) ?? [];
  return (
    <p id="status">
      {data?.account_ref_id}: <strong>{active.length > 0 ? `Active — ${active.join(', ')}` : 'Inactive'}</strong>
    </p>
  );
}

function Tiers() {
  const { data, isLoading } = useTiers();
  if (isLoading) return <p>Loading tiers…</p>;
  return (
    <ul id="tiers">
      {data?.results.map((t) => (
        <li key={t.label_name}>
          {t.name ?? t.label_name} — {String(t.price ?? '')}
        </li>
      ))}
    </ul>
  );
}

function CheckoutLink({ tier }: { tier: string }) {
  const { data } = useResolvePublicUrl({ subscriptionName: 'studio-suite', tierName: tier });
  if (!data) return null;
  return (
    <a className="checkout" href={data.public_url} target="_blank" rel="noreferrer">
      Check out {tier}
    </a>
  );
}

function Page() {
  return (
    <main>
      <h1>Studio</h1>
      <Status />
      <h2>Plans</h2>
      <Tiers />
      <CheckoutLink tier="enterprise" />
      <h2>Reports</h2>
      <RequireTier
        tier={['pro', 'enterprise']}
        subscription="studio-suite"
        loading={<p>Checking your plan…</p>}
        fallback={
          <div id="upgrade">
            <p>Reports are part of Studio Pro.</p>
            <CheckoutLink tier="pro" />
          </div>
        }
      >
        <div id="reports">Quarterly numbers: revenue up 12%.</div>
      </RequireTier>
    </main>
  );
}

createRoot(document.getElementById('root') as HTMLElement).render(
  <StrictMode>
    <Ecom9Provider baseUrl="/api/ecom9">{location.pathname.startsWith('/app/billing') ? <BillingPage /> : <Page />}</Ecom9Provider>
  </StrictMode>,
);
