// Gates /dashboard in the proxy. Next 16 runs proxy.ts on the Node.js runtime, so the gate runs here
// as in a route handler (the same gate: see lib/ecom9.ts); a denial answers problem+json before any
// rendering, an allow hands the request on with NextResponse.next().
import { NextResponse } from 'next/server';
import { ecom9 } from '@/lib/ecom9';

export const proxy = ecom9.requireTier('pro')(() => NextResponse.next());

export const config = { matcher: '/dashboard/:path*' };
