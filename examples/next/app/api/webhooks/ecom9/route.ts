// ecom9's webhooks: verified against ECOM9_WEBHOOK_SECRET, then the account's cached state is dropped.
import { ecom9 } from '@/lib/ecom9';

export const POST = ecom9.webhookHandler();
