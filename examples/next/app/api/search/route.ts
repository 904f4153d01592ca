// Metered API calls: entitlement first, then one api_calls event per successful answer.
import { ecom9 } from '@/lib/ecom9';

const search = async (req: Request) => Response.json({ results: [`match for ${new URL(req.url).searchParams.get('q') ?? ''}`] });

export const GET = ecom9.requireEntitlement('pro-api', 'api_access')(ecom9.meterUsage({ product: 'api-access', meter: 'api_calls' })(search));
