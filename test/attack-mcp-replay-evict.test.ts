// Attack: an MCP paid tool call delivered again runs its handler for free once its answer was pushed
// out of the replay cache. The cache (10,000 answers) also kept the calls that were denied, so an
// account with no credits left can push any answer out with 10,000 refused calls (cheap: nothing
// runs, nothing is debited); the redelivered request then runs the tool again, and its debit, under
// the same event_key, is answered by ecom9 with the first one: nothing charged.
import { mcpGate, type GatedToolExtra } from 'ecom9-gate/mcp';
import { createTestGate, type TestGate } from 'ecom9-gate/testing';
import { afterEach, beforeEach, expect, it } from 'vitest';

const P = 'ai-images';
const M = 'credits';
let t: TestGate;
beforeEach(async () => {
  t = await createTestGate();
});
afterEach(() => t.close());

const extraOf = (sessionId: string, requestId: number, who: string) =>
  ({ sessionId, requestId, who, signal: new AbortController().signal, sendNotification: async () => {}, sendRequest: async () => ({}) }) as never;
const debits = (ref: string) => t.emulator.ledger.filter((r) => r.approved && r.accountRefId === ref && r.product === P).map((r) => r.quantity);

it('a redelivered paid call is answered from its first run after 10,000 denied calls, not run again uncharged', async () => {
  t.emulator.setCredits('acme', P, M, 5);
  const m = mcpGate(t.gate, { accountRefId: (extra) => (extra as unknown as { who: string }).who });
  const ran: string[] = [];
  const tool = m.chargeCredits({ product: P, meter: M, quantity: 5 })(async (args: { prompt: string }) => {
    ran.push(args.prompt);
    return { content: [{ type: 'text' as const, text: `image of ${args.prompt}` }] };
  });
  const first = await tool({ prompt: 'a cat' }, extraOf('session-a', 1, 'acme'));
  expect((first as { isError?: boolean }).isError).toBeFalsy();
  // The balance is spent: every further call of this account is refused (402 as a tool result).
  for (let id = 2; id <= 10_001; id += 200) {
    const batch = [];
    for (let i = id; i < id + 200 && i <= 10_001; i++) batch.push(tool({ prompt: `x${i}` }, extraOf('session-a', i, 'acme')));
    for (const r of await Promise.all(batch)) expect((r as { isError?: boolean }).isError).toBe(true);
  }
  const again = await tool({ prompt: 'a cat' }, extraOf('session-a', 1, 'acme'));
  expect(again).toEqual(first);
  expect(ran).toEqual(['a cat']);
  expect(debits('acme')).toEqual([5]);
}, 120_000);

it('a redelivered hold-backed call is answered from its first run after 10,000 calls that used nothing, not run again uncharged', async () => {
  t.emulator.setCredits('acme', P, M, 100);
  const m = mcpGate(t.gate, { accountRefId: (extra) => (extra as unknown as { who: string }).who });
  const ran: number[] = [];
  const tool = m.reserveCredits({ product: P, meter: M, quantity: 20 })(async (args: { words: number }, extra: GatedToolExtra) => {
    ran.push(args.words);
    if (args.words > 0) extra.ecom9.hold?.use(args.words);
    return { content: [{ type: 'text' as const, text: `summary in ${args.words} words` }] };
  });
  const first = await tool({ words: 12 }, extraOf('session-b', 1, 'acme'));
  // Calls that use nothing: their holds are given back, nothing is debited (4 at a time: all granted).
  for (let id = 2; id <= 10_001; id += 4) {
    const batch = [];
    for (let i = id; i < id + 4 && i <= 10_001; i++) batch.push(tool({ words: 0 }, extraOf('session-b', i, 'acme')));
    for (const r of await Promise.all(batch)) expect((r as { isError?: boolean }).isError).toBeFalsy();
  }
  const again = await tool({ words: 12 }, extraOf('session-b', 1, 'acme'));
  expect(again).toEqual(first);
  expect(ran.filter((w) => w === 12)).toHaveLength(1);
  expect(debits('acme')).toEqual([12]);
}, 120_000);
