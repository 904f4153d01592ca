// gate.handleWebhook without a framework: Standard Webhooks verification (the specification's own
// vector and the standardwebhooks package's signatures), tolerance, rotation, replay, limits, handlers.
import { randomUUID } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { signWebhook } from 'ecom9-gate';
import { gateEnv } from './support/gate-env';

const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const NEW_SECRET = `whsec_${Buffer.from('the-rotated-secret-0123456789abcdef').toString('base64')}`;

/** Signed as ecom9 sends it: one delivery per transaction (the same webhook-id on a retry) unless `id` says otherwise. */
function signed(payload: object, opts: { secret?: string; id?: string; ts?: number } = {}) {
  const body = JSON.stringify(payload);
  const tx = (payload as { transaction_id?: unknown }).transaction_id;
  const id = opts.id ?? (typeof tx === 'string' ? `msg_${tx}` : `msg_${randomUUID()}`);
  const ts = opts.ts ?? Math.floor(Date.now() / 1000);
  return {
    rawBody: Buffer.from(body),
    headers: {
      'content-type': 'application/json',
      'webhook-id': id,
      'webhook-timestamp': String(ts),
      'webhook-signature': signWebhook({ secret: opts.secret ?? SECRET, id, timestamp: ts, body }),
    },
  };
}

const event = (account = 'acc', extra: object = {}) => ({
  event: 'subscription-cancelled',
  transaction_id: randomUUID(),
  account_ref_id: account,
  subscription_id: 'sub_1',
  is_active: false,
  label_name: 'pro',
  timestamp: new Date().toISOString(),
  ...extra,
});

/** The test's own emulator, where acc is on pro, and a gate on it that verifies with SECRET. */
async function webhookEnv() {
  const env = await gateEnv({ gate: { webhookSecret: SECRET } });
  env.emu.setAccount('acc', { customerEmail: 'a@example.com', subscriptions: [{ subscription: 'studio-suite', tier: 'pro' }] });
  return env;
}

describe('handleWebhook', () => {
  it('verifies the Standard Webhooks specification test vector', async () => {
    await using env = await webhookEnv();
    const { gate } = env;
    const r = await gate.handleWebhook({
      rawBody: '{"test": 2432232314}',
      headers: {
        'webhook-id': 'msg_p5jXN8AQM9LWM0D4loKWxJek',
        'webhook-timestamp': '1614265330',
        'webhook-signature': 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
      },
      receivedAt: new Date(1614265330 * 1000),
    });
    // Genuine, so it passes verification; the payload is not an ecom9 event, so the schema refuses it.
    expect(r).toMatchObject({ status: 400, body: { error: 'invalid_payload' } });
  });

  it('accepts a delivery signed by the standardwebhooks package', async () => {
    await using env = await webhookEnv();
    const { gate } = env;
    const body = JSON.stringify(event());
    const id = `msg_${randomUUID()}`;
    const at = new Date();
    const signature = new Webhook(SECRET).sign(id, at, body);
    const r = await gate.handleWebhook({
      rawBody: body,
      headers: { 'webhook-id': id, 'webhook-timestamp': String(Math.floor(at.getTime() / 1000)), 'webhook-signature': signature },
    });
    expect(r).toEqual({ status: 200, body: { received: true } });
  });

  it('invalidates the account so the next check asks ecom9', async () => {
    await using env = await webhookEnv();
    const { emu, gate } = env;
    expect((await gate.checkTier('acc', { tiers: 'pro' })).allowed).toBe(true);
    emu.setSubscription('acc', 'studio-suite', 'pro', 'canceled');
    expect((await gate.handleWebhook(signed(event()))).status).toBe(200);
    expect((await gate.checkTier('acc', { tiers: 'pro' })).allowed).toBe(false);
  });

  it('rejects forged, unsigned and out-of-tolerance deliveries with 401 and touches nothing', async () => {
    await using env = await webhookEnv();
    const { gate } = env;
    await gate.checkTier('acc', { tiers: 'pro' });
    const forged = signed(event(), { secret: NEW_SECRET });
    const unsigned = { rawBody: Buffer.from(JSON.stringify(event())), headers: { 'content-type': 'application/json' } };
    const old = signed(event(), { ts: Math.floor(Date.now() / 1000) - 301 });
    const future = signed(event(), { ts: Math.floor(Date.now() / 1000) + 301 });
    const tampered = signed(event());
    tampered.rawBody = Buffer.from(tampered.rawBody.toString().replace('"is_active":false', '"is_active":true'));
    for (const input of [forged, unsigned, old, future, tampered]) expect((await gate.handleWebhook(input)).status).toBe(401);
    expect(gate.stats()).toMatchObject({ invalidations: 0, webhooksRejected: 5 });
    expect((await gate.checkTier('acc', { tiers: 'pro' })).source).toBe('cache');
  });

  it('verifies with any of several secrets during a rotation', async () => {
    await using env = await webhookEnv();
    const { emu } = env;
    await using rotatingEnv = await gateEnv({ emu, gate: { webhookSecret: [SECRET, NEW_SECRET] } });
    const rotating = rotatingEnv.gate;
    expect((await rotating.handleWebhook(signed(event(), { secret: SECRET }))).status).toBe(200);
    expect((await rotating.handleWebhook(signed(event(), { secret: NEW_SECRET }))).status).toBe(200);
    await using rotatedEnv = await gateEnv({ emu, gate: { webhookSecret: NEW_SECRET } });
    const rotated = rotatedEnv.gate;
    expect((await rotated.handleWebhook(signed(event(), { secret: SECRET }))).status).toBe(401);
  });

  it('accepts a header with several signatures when one matches', async () => {
    await using env = await webhookEnv();
    const { gate } = env;
    const input = signed(event());
    input.headers['webhook-signature'] = `v1,${Buffer.alloc(32).toString('base64')} v1a,xyz ${input.headers['webhook-signature']}`;
    expect((await gate.handleWebhook(input)).status).toBe(200);
  });

  it('refuses a signature altered where base64 decoding would not notice (padding bits, stray characters)', async () => {
    await using env = await webhookEnv();
    const { gate } = env;
    const input = signed(event());
    const sig = input.headers['webhook-signature'];
    const b64 = sig.slice(3);
    // 32 bytes in base64: the last character before '=' carries two unused bits; flipping them decodes the same.
    const last = b64.length - 2;
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
    const twin = alphabet[alphabet.indexOf(b64[last] as string) ^ 1] as string;
    const variants = [`v1,${b64.slice(0, last)}${twin}=`, `v1,${b64.slice(0, 10)}!${b64.slice(10)}`, `v1,${b64.slice(0, -1)}`];
    for (const v of variants) {
      expect(Buffer.from(v.slice(3), 'base64').equals(Buffer.from(b64, 'base64')) || v.endsWith(b64.slice(0, -1))).toBe(true);
      expect((await gate.handleWebhook({ ...input, headers: { ...input.headers, 'webhook-signature': v } })).status).toBe(401);
    }
  });

  it('acknowledges a replayed transaction without running handlers again', async () => {
    await using env = await webhookEnv();
    const { gate } = env;
    let runs = 0;
    gate.onWebhook('subscription-cancelled', () => void runs++);
    const e = event();
    expect(await gate.handleWebhook(signed(e))).toEqual({ status: 200, body: { received: true } });
    expect(await gate.handleWebhook(signed(e))).toEqual({ status: 200, body: { received: true, duplicate: true } });
    expect(runs).toBe(1);
  });

  it('dedupes by webhook-id: two deliveries about one transaction (created, then cancelled) are both processed', async () => {
    await using env = await webhookEnv();
    const { gate } = env;
    let runs = 0;
    gate.onWebhook('*', () => void runs++);
    const tx = randomUUID();
    const created = signed(event('acc', { event: 'subscription-created', transaction_id: tx }), { id: 'msg_created' });
    const cancelled = signed(event('acc', { transaction_id: tx }), { id: 'msg_cancelled' });
    expect(await gate.handleWebhook(created)).toEqual({ status: 200, body: { received: true } });
    expect(await gate.handleWebhook(cancelled)).toEqual({ status: 200, body: { received: true } });
    // ecom9's retry of the cancellation (same webhook-id) is the duplicate.
    expect(await gate.handleWebhook(cancelled)).toEqual({ status: 200, body: { received: true, duplicate: true } });
    expect(runs).toBe(2);
    expect(gate.stats()).toMatchObject({ invalidations: 2, webhooksDuplicate: 1 });
  });

  it('answers 400 to malformed JSON and to a payload that fails the schema, touching nothing', async () => {
    await using env = await webhookEnv();
    const { gate } = env;
    const bad = signed(event());
    const body = '{"event": ';
    bad.rawBody = Buffer.from(body);
    bad.headers['webhook-signature'] = signWebhook({ secret: SECRET, id: bad.headers['webhook-id'], timestamp: bad.headers['webhook-timestamp'], body });
    expect(await gate.handleWebhook(bad)).toMatchObject({ status: 400, body: { error: 'malformed_json' } });
    expect(await gate.handleWebhook(signed({ event: 'x', account_ref_id: '..' }))).toMatchObject({ status: 400, body: { error: 'invalid_payload' } });
    expect(gate.stats().invalidations).toBe(0);
  });

  it('answers 413 above 64 KiB and 415 to a body that is not JSON', async () => {
    await using env = await webhookEnv();
    const { gate } = env;
    expect((await gate.handleWebhook(signed(event('acc', { pad: 'x'.repeat(70 * 1024) })))).status).toBe(413);
    const text = signed(event());
    text.headers['content-type'] = 'text/plain';
    expect((await gate.handleWebhook(text)).status).toBe(415);
  });

  it('runs handlers by event name, and the catch-all for names without one', async () => {
    await using env = await webhookEnv();
    const { gate } = env;
    const seen: string[] = [];
    gate.onWebhook('subscription-cancelled', (e) => void seen.push(`named:${e.event}`));
    gate.onWebhook('*', (e) => void seen.push(`any:${e.event}`));
    await gate.handleWebhook(signed(event()));
    await gate.handleWebhook(signed(event('acc', { event: 'brand-new-event' })));
    expect(seen).toEqual(['named:subscription-cancelled', 'any:brand-new-event']);
  });

  it('answers 500 when a handler throws, after invalidating, and processes the retry', async () => {
    await using env = await webhookEnv();
    const { gate } = env;
    let fail = true;
    gate.onWebhook('subscription-cancelled', () => {
      if (fail) throw new Error('handler down');
    });
    const e = event();
    expect((await gate.handleWebhook(signed(e))).status).toBe(500);
    expect(gate.stats().invalidations).toBe(1);
    fail = false;
    expect(await gate.handleWebhook(signed(e))).toEqual({ status: 200, body: { received: true } });
  });

  it('uses a custom verify instead of signatures: true passes, false and a throw give 401 (the throw reported)', async () => {
    await using env = await webhookEnv();
    const { emu } = env;
    const seen: { body: string; id: string | undefined }[] = [];
    await using customEnv = await gateEnv({
      emu,
      gate: {
        webhookSecret: undefined,
        webhooks: {
          verify: async ({ rawBody, headers }) => {
            const verdict = (headers as Record<string, string>)['x-verdict'];
            seen.push({ body: new TextDecoder().decode(rawBody), id: (headers as Record<string, string>)['x-id'] });
            if (verdict === 'throw') throw new Error('verifier down');
            return verdict === 'yes';
          },
        },
      },
    });
    const { gate: custom, reported } = customEnv;
    const body = JSON.stringify(event());
    const answer = (verdict: string) => custom.handleWebhook({ rawBody: body, headers: { 'x-verdict': verdict, 'x-id': verdict } });
    expect(await answer('yes')).toEqual({ status: 200, body: { received: true } });
    expect(await answer('no')).toMatchObject({ status: 401, body: { error: 'invalid_signature', detail: 'rejected by the custom verifier' } });
    expect(await answer('throw')).toMatchObject({ status: 401, body: { error: 'invalid_signature', detail: 'the custom verifier threw' } });
    // It saw the raw bytes and the headers as given; the genuine one alone was applied.
    expect(seen).toEqual(['yes', 'no', 'throw'].map((id) => ({ body, id })));
    expect(custom.stats()).toMatchObject({ invalidations: 1, webhooksRejected: 2 });
    expect(reported.map((e) => (e as Error).message)).toEqual(['verifier down']);
  });

  it('remembers at most dedupeMax transaction ids: the oldest is processed again once evicted', async () => {
    await using env = await webhookEnv();
    const { emu } = env;
    await using smallEnv = await gateEnv({ emu, gate: { webhookSecret: SECRET, webhooks: { dedupeMax: 2 } } });
    const small = smallEnv.gate;
    const ids = ['a', 'b', 'c'].map(() => randomUUID());
    const [a, b, c] = ids.map((id) => event('acc', { transaction_id: id }));
    for (const e of [a, b, c]) expect(await small.handleWebhook(signed(e as object))).toEqual({ status: 200, body: { received: true } });
    expect(await small.handleWebhook(signed(c as object))).toEqual({ status: 200, body: { received: true, duplicate: true } });
    // 'a' was evicted by 'c': processed (and invalidated) again.
    expect(await small.handleWebhook(signed(a as object))).toEqual({ status: 200, body: { received: true } });
    expect(small.stats()).toMatchObject({ invalidations: 4, webhooksDuplicate: 1 });
  });

  it('refuses a parsed body with an error that says how to mount', async () => {
    await using env = await webhookEnv();
    const { gate } = env;
    await expect(gate.handleWebhook({ rawBody: { event: 'x' } as never, headers: {} })).rejects.toThrow(/before any body parser/);
  });

  it('without a secret, still invalidates, and warns once at start-up', async () => {
    await using env = await webhookEnv();
    const { emu } = env;
    const warnings: string[] = [];
    // onError: undefined: a report would be a line to this logger, as with no onError given.
    await using openEnv = await gateEnv({ emu, gate: { webhookSecret: undefined, onError: undefined, logger: { warn: (m) => void warnings.push(m) } } });
    const open = openEnv.gate;
    open.prepareWebhooks();
    open.prepareWebhooks();
    expect(warnings).toHaveLength(1);
    const r = await open.handleWebhook({ rawBody: JSON.stringify(event()), headers: {} });
    expect(r.status).toBe(200);
    expect(open.stats().invalidations).toBe(1);
  });
});
