import { stripVTControlCharacters } from 'node:util';
import { render } from 'ink-testing-library';
import { afterEach, describe, expect, it } from 'vitest';
import { BrokerClient } from '../src/cli/broker-client.js';
import { ReviewApp } from '../src/ui/ReviewApp.js';
import { brokerReviewApi } from '../src/ui/review-api.js';
import { startTestBroker, type TestBroker } from './support/broker.js';

const target = {
  name: 'prod-db',
  kind: 'postgres' as const,
  address: '127.0.0.1:5432',
  database: 'app',
  credentials: { username: 'app' },
  access: {
    groups: ['engineers', 'deployers'],
    auto_approve: ['deployers'],
    approval: { approvers: ['dba-oncall'] },
  },
};

async function request(b: TestBroker, id: string, groups: string[], reason: string) {
  const token = await b.token({ id, groups });
  const res = await fetch(`${b.url}/v1/grants`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ target: 'prod-db', reason, duration_ms: 1_800_000 }),
  });
  return ((await res.json()) as { grant: { id: string } }).grant.id;
}

const ARROW_DOWN = '\u001B[B';
const ENTER = '\r';

describe('gatectl review (ink-testing-library against a real broker)', () => {
  const cleanups: Array<() => unknown> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  async function setup() {
    const b = await startTestBroker({ targets: [target] });
    cleanups.push(() => b.close());
    const bobToken = await b.token({ id: 'bob@example.com', groups: ['dba-oncall'] });
    const stop = new AbortController();
    cleanups.push(() => stop.abort());
    const client = new BrokerClient(
      b.url,
      { fetch: globalThis.fetch, signal: stop.signal },
      { get: async () => bobToken },
    );
    const ui = render(<ReviewApp api={brokerReviewApi(client)} pollMs={5000} />);
    cleanups.push(() => ui.unmount());
    const frame = () => stripVTControlCharacters(ui.lastFrame() ?? '');
    const until = async (check: (f: string) => boolean, what: string) => {
      const end = Date.now() + 10_000;
      while (!check(frame())) {
        if (Date.now() > end) throw new Error(`timed out waiting for ${what}; frame:\n${frame()}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    const press = async (s: string) => {
      ui.stdin.write(s);
      await new Promise((r) => setTimeout(r, 50));
    };
    const state = async (id: string) =>
      b.broker.ctx.store.db.selectFrom('grants').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
    return { b, ui, frame, until, press, state };
  }

  it('shows the queue live, navigates with j/↓ and approves with a', async () => {
    const { b, frame, until, press, state } = await setup();
    await until((f) => f.includes('0 pending'), 'an empty queue');
    const first = await request(b, 'alice@example.com', ['engineers'], 'incident 42');
    // Arrives through the long-poll, without any key pressed.
    await until((f) => f.includes('1 pending'), 'the first request');
    const second = await request(b, 'dave@example.com', ['engineers'], 'migration check');
    await until((f) => f.includes('2 pending'), 'the second request');
    // Newest first: dave's is selected; the detail pane shows requester, groups, reason, duration.
    expect(frame()).toContain('dave@example.com');
    expect(frame()).toMatch(/requester\s+dave@example\.com/);
    expect(frame()).toMatch(/groups\s+engineers/);
    expect(frame()).toMatch(/reason\s+migration check/);
    expect(frame()).toMatch(/duration\s+30m/);
    await press('j');
    await until((f) => /requester\s+alice@example\.com/.test(f), 'alice selected');
    await press('k');
    await until((f) => /requester\s+dave@example\.com/.test(f), 'dave selected again');
    await press(ARROW_DOWN);
    await until((f) => /reason\s+incident 42/.test(f), 'alice selected by arrow');
    await press('a');
    await until((f) => f.includes(`Approved ${first}`), 'approval confirmation');
    expect((await state(first)).state).toBe('approved');
    expect((await state(second)).state).toBe('pending');
    await until((f) => f.includes('1 pending, 1 active'), 'approved grant shown as active');
    await press('?');
    await until((f) => f.includes('Keys') && f.includes('revoke the selected active grant'), 'help');
    await press('x');
    await until((f) => f.includes('Queue'), 'help closed');
  });

  it('denies with a reason typed at the prompt; an empty reason is refused; r revokes', async () => {
    const { b, frame, until, press, state } = await setup();
    const id = await request(b, 'alice@example.com', ['engineers'], 'curious');
    await until((f) => f.includes('1 pending'), 'the request');
    await press('d');
    await until((f) => f.includes(`Reason for denying ${id}`), 'the reason prompt');
    await press(ENTER);
    await until((f) => f.includes('a reason is required'), 'empty reason refused');
    for (const ch of 'use the replica') await press(ch);
    await press('\u007F'); // Backspace
    await press('a');
    await until((f) => f.includes('use the replica'), 'typed reason');
    await press(ENTER);
    await until((f) => f.includes(`${id} is now denied`), 'denial confirmation');
    const decision = await b.broker.ctx.store.db
      .selectFrom('approval_decisions')
      .selectAll()
      .executeTakeFirstOrThrow();
    expect(decision).toMatchObject({
      approver: 'bob@example.com',
      decision: 'deny',
      comment: 'use the replica',
    });
    expect((await state(id)).state).toBe('denied');
    await until((f) => f.includes('0 pending, 0 active'), 'queue emptied');

    const ci = await request(b, 'ci:acme/payments', ['deployers'], 'deploy');
    await until((f) => f.includes('0 pending, 1 active'), 'active grant');
    await press('r');
    await until((f) => f.includes(`Reason for revoking ${ci}`), 'revoke prompt');
    for (const ch of 'done') await press(ch);
    await press(ENTER);
    await until((f) => f.includes(`${ci} is now revoked`), 'revocation');
    expect(await state(ci)).toMatchObject({
      state: 'revoked',
      end_reason: 'done',
      revoked_by: 'bob@example.com',
    });
    expect(frame()).not.toContain('Error');
  });
});
