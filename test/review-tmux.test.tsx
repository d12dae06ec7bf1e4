import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { startTestBroker } from './support/broker.js';
import { CLI, cliEnv, runCli } from './support/cli.js';

const run = promisify(execFile);

function hasTmux(): boolean {
  try {
    execFileSync('tmux', ['-V'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

// In CI a missing tool is a failure (.ci/run installs tmux), elsewhere the test is skipped.
const tmuxAvailable = hasTmux() || process.env.CI === 'true';

describe.skipIf(!tmuxAvailable)('gatectl review in a real terminal (tmux)', () => {
  it('approves a pending request with `a` and quits with `q`', async () => {
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
    const alice = await b.token({ id: 'alice@example.com', groups: ['engineers'] });
    const bob = await b.token({ id: 'bob@example.com', groups: ['dba-oncall'] });
    const req = await runCli(['request', 'prod-db', '--reason', 'tmux check', '--no-wait'], {
      env: { GATECTL_BROKER: b.url, GATECTL_TOKEN: alice },
    });
    expect(req.code).toBe(0);
    const id = req.stdout.trim();

    // A private tmux server: its sessions get this environment, never the developer's own.
    const socket = `gatectl-test-${randomBytes(4).toString('hex')}`;
    // Prompts stay enabled here: this is the one test that runs on a real terminal.
    const env: NodeJS.ProcessEnv = {
      ...cliEnv({ GATECTL_BROKER: b.url, GATECTL_TOKEN: bob }),
      TERM: 'xterm-256color',
    };
    delete env.GATECTL_PROMPT_DISABLED;
    const tmux = (...args: string[]) => run('tmux', ['-L', socket, ...args], { env });
    const screen = async () => (await tmux('capture-pane', '-p', '-t', 'review')).stdout;
    const until = async (check: (s: string) => boolean, what: string) => {
      const end = Date.now() + 15_000;
      for (;;) {
        const s = await screen();
        if (check(s)) return s;
        if (Date.now() > end) throw new Error(`timed out waiting for ${what}; screen:\n${s}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    };
    await tmux(
      'new-session',
      '-d',
      '-x',
      '120',
      '-y',
      '40',
      '-s',
      'review',
      `'${process.execPath}' '${CLI}' review; echo "gatectl exited with $?"; sleep 60`,
    );
    try {
      const first = await until((s) => s.includes('1 pending'), 'the queue');
      expect(first).toContain('alice@example.com');
      expect(first).toMatch(/reason\s+tmux check/);
      await tmux('send-keys', '-t', 'review', 'a');
      await until((s) => s.includes(`Approved ${id}`), 'the approval');
      const row = await b.broker.ctx.store.db
        .selectFrom('grants')
        .selectAll()
        .where('id', '=', id)
        .executeTakeFirstOrThrow();
      expect(row.state).toBe('approved');
      await tmux('send-keys', '-t', 'review', 'q');
      const end = await until((s) => s.includes('gatectl exited with'), 'exit');
      expect(end).toContain('gatectl exited with 0');
      expect(end).not.toContain(bob);
    } finally {
      await tmux('kill-server').catch(() => {});
    }
  });

  it('off a terminal exits 2 and names the non-interactive commands', async () => {
    await using b = await startTestBroker({});
    const bob = await b.token({ id: 'bob@example.com', groups: ['dba-oncall'] });
    const r = await runCli(['review'], { env: { GATECTL_BROKER: b.url, GATECTL_TOKEN: bob } });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('gatectl grants --pending');
    expect(r.stderr).toContain('gatectl approve');
  });
});
