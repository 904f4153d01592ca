// The billing page: a pricing table, an upgrade flow, the past-due banner and the credits balance,
// each a component of ecom9-gate/react. Webhooks (an upgrade, a failed payment, a top-up) change it
// without a reload; "Generate an image" spends credits through the server's chargeCredits route.
import { useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { CreditsBalance, FixSubscriptionBanner, PricingTable, UpgradeButton, ecom9Key } from 'ecom9-gate/react';

function GenerateImage() {
  const queryClient = useQueryClient();
  const [note, setNote] = useState('');
  async function generate() {
    const res = await fetch('/images', { method: 'POST', credentials: 'same-origin' });
    setNote(res.ok ? 'Image generated (5 credits).' : `Refused: ${res.status}`);
    // This page spent credits: refresh what it shows (a webhook does it for every other page).
    await queryClient.invalidateQueries({ queryKey: ecom9Key('/api/ecom9') });
  }
  return (
    <p>
      <button type="button" id="generate" onClick={() => void generate()}>
        Generate an image
      </button>{' '}
      <span id="generate-note">{note}</span>
    </p>
  );
}

export function BillingPage() {
  return (
    <main>
      <h1>Billing</h1>
      <FixSubscriptionBanner subscription="studio-suite" tier="pro" />
      <h2>Credits</h2>
      <CreditsBalance product="ai-images" meter="credits" lowAt={10} topUpUrl="https://example.com/top-up" />
      <GenerateImage />
      <h2>Plans</h2>
      <PricingTable subscription="studio-suite" />
      <h2>Reports</h2>
      <p>
        Reports are part of Studio Pro.{' '}
        <UpgradeButton subscription="studio-suite" tier="pro">
          Upgrade to Studio Pro
        </UpgradeButton>
      </p>
    </main>
  );
}
