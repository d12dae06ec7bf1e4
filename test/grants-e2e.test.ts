import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestBroker, type TestBroker } from './support/broker.js';
import { collect, runCli, spawnCli, waitForStderr } from './support/cli.js';

const target = {
  name: 'prod-db',
  kind: 'postgres' as const,
  address: '127.0.0.1:5432',
  database: 'app',
  credentials: { username: 'app' },
  access: {
    groups: ['engineers', 'deployers'],
    auto_approve: ['deployers'],
    approval: { approvers: ['dba-oncall'], min_approvals: 1 },
    max_duration: '4h',
  },
};

/** Resolves with the grant id once the waiting CLI has printed it on stderr. */
async function requestedId(child: ChildProcess): Promise<string> {
  return (await waitForStderr(child, /\((gr_[0-9a-z]+)\)/, 15_000))[1]!;
}

describe('grants end to end (real CLI processes)', () => {
  let b: TestBroker;
  let env: Record<string, Record<string, string>>;
  beforeAll(async () => {
    b = await startTestBroker({ targets: [target] });
    const as = async (id: string, groups: string[]) => ({
      GATECTL_BROKER: b.url,
      GATECTL_TOKEN: await b.token({ id, groups }),
    });
    env = {
      alice: await as('alice@example.com', ['engineers']),
      bob: await as('bob@example.com', ['dba-oncall']),
      carol: await as('carol@example.com', ['engineers']),
      ci: await as('ci:acme/payments', ['deployers']),
    };
  });
  afterAll(async () => {
    await b?.close();
  });

  it('alice waits, bob approves with `gatectl approve`, alice exits 0 within a second; self- and non-approver refused', async () => {
    const alice = spawnCli(['request', 'prod-db', '--reason', 'incident 42', '--duration', '1h'], {
      env: env.alice,
    });
    const exitedAt = new Promise<number>((r) => alice.on('close', () => r(Date.now())));
    const done = collect(alice, undefined, 30_000);
    const id = await requestedId(alice);

    const own = await runCli(['approve', id], { env: env.alice });
    expect(own.code).toBe(5);
    expect(own.stderr).toContain('cannot decide your own');

    const carol = await runCli(['approve', id, '--comment', 'lgtm'], { env: env.carol });
    expect(carol.code).toBe(5);
    expect(carol.stderr).toContain('only members of dba-oncall may decide');

    const pending = await runCli(['grants', '--pending', '--json'], { env: env.bob });
    expect(JSON.parse(pending.stdout).map((g: any) => g.id)).toEqual([id]);

    const bob = await runCli(['approve', id, '--comment', 'go ahead'], { env: env.bob });
    expect(bob.stderr).toContain(`Approved ${id}`);
    expect(bob.code).toBe(0);
    const decision = await b.broker.ctx.store.db
      .selectFrom('approval_decisions')
      .selectAll()
      .executeTakeFirstOrThrow();
    const r = await done;
    expect(r.code).toBe(0);
    const latency = (await exitedAt) - decision.created_at;
    expect(latency).toBeLessThan(1000);
    expect(r.stdout).toMatch(new RegExp(`^id\\t${id}$`, 'm'));
    expect(r.stdout).toMatch(/^state\tapproved$/m);
    expect(r.stdout).toMatch(/^approved_by\tbob@example.com$/m);
    expect(r.stderr + r.stdout + bob.stderr).not.toContain(env.alice.GATECTL_TOKEN);

    const targets = await runCli(['targets', '--json'], { env: env.alice });
    expect(JSON.parse(targets.stdout)[0].grant).toMatchObject({ id });
  });

  it('a denial shows bob’s reason to alice and exits 5; deny without a reason is a usage error', async () => {
    const alice = spawnCli(['request', 'prod-db', '--reason', 'curious'], { env: env.alice });
    const done = collect(alice, undefined, 30_000);
    const id = await requestedId(alice);
    const noReason = await runCli(['deny', id], { env: env.bob });
    expect(noReason.code).toBe(2);
    expect(noReason.stderr).toContain('--reason');
    const deny = await runCli(['deny', id, '--reason', 'use the read replica'], { env: env.bob });
    expect(deny.code).toBe(0);
    const r = await done;
    expect(r.code).toBe(5);
    expect(r.stderr).toContain('bob@example.com denied your request for prod-db: use the read replica');
  });

  it('an undecided request expires and exits 6; --wait bounds the wait with 6; --no-wait prints the id', async () => {
    // A broker whose requests expire after two seconds.
    await using quick = await startTestBroker({ targets: [target], approvals: { request_ttl: '2s' } });
    const expired = await runCli(['request', 'prod-db', '--reason', 'nobody answers'], {
      env: {
        GATECTL_BROKER: quick.url,
        GATECTL_TOKEN: await quick.token({ id: 'alice@example.com', groups: ['engineers'] }),
      },
      timeoutMs: 20_000,
    });
    expect(expired.code).toBe(6);
    expect(expired.stderr).toContain('expired without a decision');

    const bounded = await runCli(['request', 'prod-db', '--wait', '1s'], { env: env.alice });
    expect(bounded.code).toBe(6);
    expect(bounded.stderr).toContain('still pending');

    const nowait = await runCli(['request', 'prod-db', '--no-wait'], { env: env.alice });
    expect(nowait.code).toBe(0);
    expect(nowait.stdout.trim()).toMatch(/^gr_[0-9a-z]+$/);
  });

  it('Ctrl-C withdraws the request', async () => {
    const alice = spawnCli(['request', 'prod-db', '--reason', 'oops'], { env: env.alice });
    const done = collect(alice, undefined, 30_000);
    const id = await requestedId(alice);
    alice.kill('SIGINT');
    const r = await done;
    expect(r.code).toBe(130);
    expect(r.stderr).toContain(`Withdrew request ${id}`);
    const row = await b.broker.ctx.store.db
      .selectFrom('grants')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirstOrThrow();
    expect(row).toMatchObject({ state: 'ended', end_reason: 'withdrawn by the requester' });
  });

  it('deployers are granted at once; bob lists and revokes; the holder sees it in `gatectl grants`', async () => {
    const ci = await runCli(['request', 'prod-db', '--reason', 'deploy', '--json'], { env: env.ci });
    expect(ci.code).toBe(0);
    const grant = JSON.parse(ci.stdout);
    expect(grant).toMatchObject({ state: 'approved', identity: 'ci:acme/payments' });
    const list = await runCli(['grants'], { env: env.bob });
    expect(list.stdout).toContain(grant.id);
    const revoke = await runCli(['revoke', grant.id, '--reason', 'deploy finished', '--json'], {
      env: env.bob,
    });
    expect(revoke.code).toBe(0);
    expect(JSON.parse(revoke.stdout)).toMatchObject({ state: 'revoked', end_reason: 'deploy finished' });
    const mine = await runCli(['grants', '--all', '--json'], { env: env.ci });
    expect(JSON.parse(mine.stdout)[0]).toMatchObject({ id: grant.id, state: 'revoked' });
  });
});
