// Property tests (fast-check, 10,000 inputs each): webhook verification and parsing never crash,
// never invalidate without a valid signature, and reject with a 4xx; account refs, run through the
// client's own encoder, are either refused locally or sent as exactly one path segment.
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Emulator } from 'ecom9-gate/emulator';
import { accountRefProblem, createGate, signWebhook, ValidationError, type Gate } from 'ecom9-gate';
import { pathSegment } from '../src/shared/account-ref';
import { startEmulator } from './support/env';

const RUNS = 10_000;
const SECRET = `whsec_${Buffer.from('fuzzing-secret-0123456789abcdef').toString('base64')}`;
const NOW = 1_767_000_000;

function gate(): Gate {
  // Webhooks never call ecom9; the base URL is never used.
  return createGate({ apiKey: 'k', baseUrl: 'http://127.0.0.1:9/api/', webhookSecret: SECRET, logger: { warn: () => {} }, onError: () => {} });
}

const headerValue = fc.oneof(fc.string(), fc.constantFrom('', 'v1,', 'v1,AAAA', `${NOW}`, 'msg_1'), fc.array(fc.string(), { maxLength: 3 }));

describe('webhook verification and parsing', () => {
  it('arbitrary deliveries: no crash, a 4xx, no invalidation', async () => {
    const g = gate();
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(fc.string(), fc.uint8Array({ maxLength: 512 }), fc.json()),
        fc.record(
          { 'webhook-id': headerValue, 'webhook-timestamp': headerValue, 'webhook-signature': headerValue, 'content-type': headerValue },
          { requiredKeys: [] },
        ),
        async (body, headers) => {
          const r = await g.handleWebhook({ rawBody: typeof body === 'string' ? body : Buffer.from(body), headers, receivedAt: new Date(NOW * 1000) });
          expect(r.status).toBeGreaterThanOrEqual(400);
          expect(r.status).toBeLessThan(500);
        },
      ),
      { numRuns: RUNS, seed: 1 },
    );
    expect(g.stats().invalidations).toBe(0);
  });

  it('a genuine delivery with any one byte changed is refused with 401, nothing invalidated', async () => {
    const g = gate();
    const body = JSON.stringify({ event: 'subscription-cancelled', transaction_id: randomUUID(), account_ref_id: 'acme', is_active: false });
    const id = 'msg_fuzz';
    const sig = signWebhook({ secret: SECRET, id, timestamp: NOW, body });
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('body', 'id', 'timestamp', 'signature'), fc.nat(), fc.integer({ min: 1, max: 255 }), async (part, at, delta) => {
        const fields = { body, id, timestamp: String(NOW), signature: sig };
        const original = fields[part as keyof typeof fields];
        const bytes = Buffer.from(original);
        const i = at % bytes.length;
        bytes[i] = ((bytes[i] as number) + delta) % 256;
        (fields as Record<string, string | Buffer>)[part] = part === 'body' ? bytes : bytes.toString('latin1');
        const r = await g.handleWebhook({
          rawBody: fields.body,
          headers: { 'webhook-id': fields.id, 'webhook-timestamp': fields.timestamp, 'webhook-signature': fields.signature },
          receivedAt: new Date(NOW * 1000),
        });
        expect(r.status).toBe(401);
      }),
      { numRuns: RUNS, seed: 2 },
    );
    expect(g.stats().invalidations).toBe(0);
  });

  it('genuinely signed arbitrary payloads: 200 only for a valid event, else 400; never a crash', async () => {
    const g = gate();
    let accepted = 0;
    const event = fc.record(
      {
        event: fc.oneof(fc.string(), fc.constantFrom('subscription-created', 'payment-failed')),
        transaction_id: fc.oneof(fc.uuid(), fc.string(), fc.integer()),
        account_ref_id: fc.oneof(fc.string({ maxLength: 300 }), fc.constantFrom('acme', '..', '%2e', 'a/b'), fc.integer()),
        is_active: fc.oneof(fc.boolean(), fc.string()),
        label_name: fc.oneof(fc.string(), fc.constant(null)),
      },
      { requiredKeys: [] },
    );
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          event,
          fc.json().map((j) => JSON.parse(j) as unknown),
        ),
        fc.nat(),
        async (payload, n) => {
          const body = JSON.stringify(payload) ?? 'null';
          const id = `msg_${n}_${randomUUID()}`;
          const r = await g.handleWebhook({
            rawBody: body,
            headers: { 'webhook-id': id, 'webhook-timestamp': String(NOW), 'webhook-signature': signWebhook({ secret: SECRET, id, timestamp: NOW, body }) },
            receivedAt: new Date(NOW * 1000),
          });
          expect([200, 400]).toContain(r.status);
          if (r.status === 200 && r.body.duplicate !== true) accepted++;
        },
      ),
      { numRuns: RUNS, seed: 3 },
    );
    // Only accepted events invalidate (a repeated transaction id is a duplicate and does not).
    expect(g.stats().invalidations).toBe(accepted);
    expect(accepted).toBeGreaterThan(0);
  });
});

// Refs biased towards what breaks paths and queries: separators, percent signs, dots, backslashes,
// lone UTF-16 surrogates and control characters, mixed with any UTF-16 code unit (not only well-formed
// code points: fast-check's 'binary' unit never yields a lone surrogate).
const codeUnit = fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c));
const hostilePiece = fc.oneof(
  fc.constantFrom('/', '?', '#', '\\', '.', '..', '&', '=', '+', ';', ' '),
  fc.constantFrom('%', '%2e', '%2E', '%2F', '%5C', '%zz', '%00'),
  fc.constantFrom('\ud800', '\udbff', '\udc00', '\udfff'),
  fc.constantFrom('\u0000', '\n', '\r', '\u001f', '\u007f', '\u0085', '\u202e', '\ufeff'),
);
const hostileRef = fc.oneof(
  { weight: 4, arbitrary: fc.array(fc.oneof(hostilePiece, codeUnit, fc.string({ maxLength: 4 })), { maxLength: 24 }).map((p) => p.join('')) },
  { weight: 1, arbitrary: fc.string({ unit: codeUnit, maxLength: 300 }) },
  { weight: 1, arbitrary: fc.constantFrom('.', '..', '%2e', '%2E%2e', 'a/../b', '?x=1', '#f', '\\', 'acme\ud800', 'a'.repeat(257)) },
);

describe('account refs', () => {
  let emu: Emulator;
  beforeAll(async () => {
    emu = await startEmulator();
  });
  afterAll(async () => {
    await emu.close();
  });

  it("10,000 refs through the client's encoder: refused for a reason, or exactly one path segment that decodes back", () => {
    const base = new URL('http://ecom9.test/api/');
    fc.assert(
      fc.property(hostileRef, (ref) => {
        const problem = accountRefProblem(ref);
        if (problem) {
          expect(() => pathSegment(ref)).toThrow(ValidationError);
          return;
        }
        // The path the client builds for accounts.status, resolved as its transport resolves it.
        const seg = pathSegment(ref);
        expect(seg).toMatch(/^(?:[A-Za-z0-9\-_.!~*'()]|%[0-9A-F]{2})+$/);
        expect(['.', '..']).not.toContain(seg);
        const url = new URL(`account/${seg}/status/`, base);
        expect(url.pathname.split('/')).toEqual(['', 'api', 'account', seg, 'status', '']);
        expect(url.search + url.hash).toBe('');
        expect(decodeURIComponent(seg)).toBe(ref);
      }),
      { numRuns: RUNS, seed: 4 },
    );
  });

  it('1,000 refs over HTTP: the status and entitlement calls carry exactly that ref, or none is made', async () => {
    const g = createGate({ apiKey: emu.apiKey, baseUrl: emu.url, logger: { warn: () => {} }, onError: () => {} });
    await fc.assert(
      fc.asyncProperty(hostileRef, async (ref) => {
        // Shrinking and repeats see a ref again: ask ecom9 each time.
        g.invalidate(ref);
        emu.resetCalls();
        const tier = await g.checkTier(ref, { tiers: 'pro' });
        const ent = await g.checkEntitlement(ref, { product: 'pro-api', entitlement: 'api_access' });
        // The catalogue reads that check a denied route's names (once per name, in the background) are about no ref.
        const calls = emu.calls.filter((c) => c.endpoint !== 'products.list' && c.endpoint !== 'tiers.list');
        if (accountRefProblem(ref)) {
          expect([tier.code, ent.code]).toEqual(['account_unresolved', 'account_unresolved']);
          expect(calls).toHaveLength(0);
        } else {
          expect(calls.map((c) => [c.endpoint, c.accountRefId])).toEqual([
            ['accounts.status', ref],
            ['entitlements.check', ref],
          ]);
        }
      }),
      { numRuns: 1_000, seed: 5 },
    );
    // A client-chosen ref never passes for "ecom9 is down".
    expect(g.stats()).toMatchObject({ upstreamErrors: 0, failClosedDenied: 0 });
    await g.close();
  }, 60_000);
});
