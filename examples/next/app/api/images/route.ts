// Paid image generation: 5 credits debited before the handler runs; a retry with the same
// Idempotency-Key is charged once.
import { ecom9 } from '@/lib/ecom9';

export const POST = ecom9.chargeCredits({ product: 'ai-images', meter: 'credits', quantity: 5, topUpUrl: 'https://example.com/top-up' })(async (req: Request) =>
  Response.json({ image: 'https://example.com/generated.png', credits: ecom9.state(req)?.credits }),
);
