// Property tests (fast-check, 10,000 inputs each): webhook verification and parsing never crash,
// never invalidate without a valid signature, and reject with a 4xx; account refs are either refused
// locally or sent as exactly one path segment.
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Emulator } from 'ecom9-gate/emulator';
import { accountRefProblem, createGate, signWebhook, type Gate } from 'ecom9-gate';
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

describe('account refs', () => {
  let emu: Emulator;
  beforeAll(async () => {
    emu = await startEmulator();
  });
  afterAll(async () => {
    await emu.close();
  });

  it('10,000 refs: refused for a reason, or encoded into one path segment that decodes back', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: 'binary', maxLength: 300 }), fc.constantFrom('.', '..', '%2e', '%2E%2e', 'a/../b', '?x=1', '#f')), (ref) => {
        const problem = accountRefProblem(ref);
        if (problem) return;
        const seg = encodeURIComponent(ref);
        expect(seg).not.toMatch(/[/?#]/);
        expect(decodeURIComponent(seg)).toBe(ref);
        expect(['.', '..']).not.toContain(seg);
      }),
      { numRuns: RUNS, seed: 4 },
    );
  });

  it('300 refs over HTTP: each call reaches the status endpoint with exactly that ref, or none is made', async () => {
    const g = createGate({ apiKey: emu.apiKey, baseUrl: emu.url, logger: { warn: () => {} } });
    await fc.assert(
      fc.asyncProperty(fc.string({ unit: 'binary', maxLength: 80 }), async (ref) => {
        emu.resetCalls();
        const d = await g.checkTier(ref, { tiers: 'pro' });
        if (accountRefProblem(ref)) {
          expect(d.code).toBe('account_unresolved');
          expect(emu.calls).toHaveLength(0);
        } else {
          expect(emu.calls.map((c) => [c.endpoint, c.accountRefId])).toEqual([['accounts.status', ref]]);
        }
      }),
      { numRuns: 300, seed: 5 },
    );
    await g.close();
  }, 60_000);
});
