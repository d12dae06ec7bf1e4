import { describe, expect, it } from 'vitest';
import { startTestBroker } from './support/broker.js';
import { runCli } from './support/cli.js';

describe('gatectl CLI basics', () => {
  it('prints its version and exits 0', async () => {
    const r = await runCli(['--version']);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('exits 2 on an unknown command', async () => {
    const r = await runCli(['frobnicate']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('unknown command');
  });

  it('shows exec help for --help after the target, and refuses an option exec does not have', async () => {
    // No broker is configured: neither may get as far as asking one, or run the command.
    const env = { GATECTL_BROKER: 'http://127.0.0.1:9', GATECTL_TOKEN: 'unused' };
    const help = await runCli(['exec', 'prod-db', '--help'], { env });
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Usage: gatectl exec [options] <target> <command...>');
    const typo = await runCli(['exec', 'prod-db', '--reson', 'x', '--', 'sh', '-c', 'exit 9'], { env });
    expect(typo.code).toBe(2);
    expect(typo.stderr).toContain('unknown option --reson for gatectl exec');
    expect(typo.stderr).toContain('the command goes after --');
  });

  it('exits 4 with a login hint when no broker token is available', async () => {
    await using b = await startTestBroker({});
    const r = await runCli(['targets'], { env: { GATECTL_BROKER: b.url } });
    expect(r.code).toBe(4);
    expect(r.stderr).toContain('gatectl login');
    expect(r.stderr).not.toMatch(/at .*\.js:\d+/);
  });

  it('lists targets with a broker token, tab-separated off a terminal and as JSON', async () => {
    await using b = await startTestBroker({
      targets: [
        {
          name: 'prod-db',
          kind: 'postgres',
          address: '127.0.0.1:5432',
          database: 'app',
          credentials: { username: 'app' },
          access: { groups: ['engineers'], approval: { approvers: ['dba-oncall'] } },
        },
      ],
    });
    const token = await b.token({ id: 'alice@example.com', groups: ['engineers'] });
    const plain = await runCli(['targets'], { env: { GATECTL_BROKER: b.url, GATECTL_TOKEN: token } });
    expect(plain.code).toBe(0);
    expect(plain.stdout.split('\n')[0]!.split('\t').slice(0, 3)).toEqual(['prod-db', 'postgres', 'approval']);
    const json = await runCli(['targets', '--json'], {
      env: { GATECTL_BROKER: b.url, GATECTL_TOKEN: token },
    });
    expect(JSON.parse(json.stdout)).toMatchObject([
      { name: 'prod-db', allowed: true, approval_required: true },
    ]);
    expect(json.stdout + json.stderr + plain.stderr).not.toContain(token);
  });
});
