import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generatedFiles } from '../src/cli/completion/generate.js';
import { startTestBroker, type TestBroker } from './support/broker.js';
import { CLI, cliEnv, runCli } from './support/cli.js';

const run = promisify(execFile);
const root = resolve(import.meta.dirname, '..');
const version = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version;

/** A tool the test needs; in CI a missing tool fails the test instead of skipping it. */
function has(tool: string): boolean {
  const found = spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0;
  if (!found && process.env.CI) throw new Error(`${tool} is not installed (.ci/run installs it)`);
  return found;
}

const pgTarget = (name: string, groups: string[]) => ({
  name,
  kind: 'postgres' as const,
  address: '127.0.0.1:5432',
  database: 'app',
  credentials: { username: 'app' },
  access: { groups },
});

let broker: TestBroker;
let token: string;
let binDir: string;

beforeAll(async () => {
  broker = await startTestBroker({
    targets: [
      pgTarget('prod-db', ['engineers']),
      pgTarget('payments-db', ['engineers']),
      pgTarget('hr-db', ['hr']),
    ],
  });
  token = await broker.token({ id: 'alice@example.com', groups: ['engineers'] });
  // The completion scripts call `gatectl` by the name typed; put the built CLI on PATH.
  binDir = mkdtempSync(join(tmpdir(), 'gatectl-bin-'));
  symlinkSync(CLI, join(binDir, 'gatectl'));
});
afterAll(async () => {
  await broker?.close();
  rmSync(binDir, { recursive: true, force: true });
});

function shellEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return cliEnv({ PATH: `${binDir}${delimiter}${process.env.PATH}`, ...extra });
}

describe('generated completions and man page', () => {
  it('are up to date with the command tree (run `npm run gen` after changing it)', async () => {
    for (const [path, content] of Object.entries(generatedFiles(version))) {
      expect(readFileSync(join(root, path), 'utf8'), `${path} is stale: run npm run gen`).toBe(content);
    }
  });

  it.each(['bash', 'zsh', 'fish'])('`gatectl completion %s` prints the checked-in script', async (shell) => {
    const r = await runCli(['completion', shell]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(readFileSync(join(root, `completions/gatectl.${shell}`), 'utf8'));
  });

  it('rejects an unknown shell with a usage error', async () => {
    const r = await runCli(['completion', 'tcsh']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('bash, zsh, fish');
  });

  it('`man -l man/gatectl.1` renders without warnings', async () => {
    has('man');
    const r = spawnSync('man', ['--warnings', '-l', join(root, 'man/gatectl.1')], {
      env: { ...process.env, MANPAGER: 'cat', PAGER: 'cat', MANWIDTH: '100', LANG: 'C.UTF-8' },
      encoding: 'utf8',
    });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    const text = r.stdout.replace(/.\x08/g, '');
    expect(text).toMatch(/^GATECTL\(1\)/);
    expect(text).toContain('gatectl broker start');
    expect(text).toContain('--config file');
    expect(text).toContain('EXIT STATUS');
  });
});

describe('bash completion', () => {
  /** Runs the real completion function as bash would for the words typed (the last one is being completed). */
  // Asynchronous: the test broker answers target lookups from this very process.
  async function complete(words: string[], env: NodeJS.ProcessEnv = {}): Promise<string[]> {
    has('bash');
    const script = `
      source ${JSON.stringify(join(root, 'completions/gatectl.bash'))}
      complete -p gatectl >/dev/null || exit 3
      COMP_WORDS=("$@"); COMP_CWORD=$((\${#COMP_WORDS[@]} - 1)); COMPREPLY=()
      _gatectl gatectl "\${COMP_WORDS[COMP_CWORD]}" "\${COMP_WORDS[COMP_CWORD-1]}"
      printf '%s\\n' "\${COMPREPLY[@]}"`;
    const { stdout: out } = await run('bash', ['--norc', '--noprofile', '-c', script, 'bash', ...words], {
      env: shellEnv(env),
      encoding: 'utf8',
      cwd: root,
    });
    return out.split('\n').filter(Boolean);
  }

  it('completes `gatectl con` to `connect`', async () => {
    expect(await complete(['gatectl', 'con'])).toEqual(['connect']);
  });

  it('offers every top-level command, but not the hidden ones', async () => {
    const all = await complete(['gatectl', '']);
    expect(all).toEqual(
      expect.arrayContaining(['login', 'targets', 'connect', 'exec', 'broker', 'completion']),
    );
    expect(all).not.toContain('__complete');
  });

  it('offers flags of the command being typed', async () => {
    expect(await complete(['gatectl', 'request', '--r'])).toEqual(['--reason']);
    expect(await complete(['gatectl', 'request', '-'])).toEqual(
      expect.arrayContaining(['--reason', '-r', '--duration', '--no-wait', '--json']),
    );
    expect(await complete(['gatectl', 'broker', 'start', '--c'])).toEqual(['--config']);
    expect(await complete(['gatectl', '--b'])).toEqual(['--broker']);
  });

  it('walks nested commands and skips option values', async () => {
    expect(await complete(['gatectl', 'broker', 'st'])).toEqual(['start']);
    expect(await complete(['gatectl', '--profile', 'work', 'broker', 'd'])).toEqual(['dev', 'dev-token']);
    expect(await complete(['gatectl', 'completion', ''])).toEqual(['bash', 'zsh', 'fish']);
  });

  it('completes file names for --config', async () => {
    expect(await complete(['gatectl', 'broker', 'check', '--config', 'package.j'])).toEqual(['package.json']);
  });

  it('offers target names from a reachable broker', async () => {
    const env = { GATECTL_BROKER: broker.url, GATECTL_TOKEN: token };
    expect((await complete(['gatectl', 'connect', ''], env)).sort()).toEqual(['payments-db', 'prod-db']);
    expect((await complete(['gatectl', 'request', '--reason', 'incident', 'p'], env)).sort()).toEqual([
      'payments-db',
      'prod-db',
    ]);
    expect(await complete(['gatectl', 'exec', 'pr'], env)).toEqual(['prod-db']);
  });

  it('passes --broker typed on the command line on to the target lookup', async () => {
    expect(
      await complete(['gatectl', '--broker', broker.url, 'connect', 'pay'], { GATECTL_TOKEN: token }),
    ).toEqual(['payments-db']);
  });

  it('offers nothing (and does not fail) when no broker answers', async () => {
    expect(
      await complete(['gatectl', 'connect', ''], {
        GATECTL_BROKER: 'http://127.0.0.1:9',
        GATECTL_TOKEN: token,
      }),
    ).toEqual([]);
  });
});

describe('gatectl __complete targets', () => {
  it('lists the names of targets the caller may use, one per line', async () => {
    const r = await runCli(['__complete', 'targets'], {
      env: { GATECTL_BROKER: broker.url, GATECTL_TOKEN: token },
    });
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n').filter(Boolean).sort()).toEqual(['payments-db', 'prod-db']);
    expect(r.stderr).toBe('');
  });

  it('prints nothing and exits 0 without a broker, without a login, or with an unreachable broker', async () => {
    for (const env of [
      {},
      { GATECTL_BROKER: broker.url },
      { GATECTL_BROKER: broker.url, GATECTL_TOKEN: 'not-a-token' },
      { GATECTL_BROKER: 'http://127.0.0.1:9', GATECTL_TOKEN: token },
      { GATECTL_BROKER: 'not a url', GATECTL_TOKEN: token },
    ]) {
      const r = await runCli(['__complete', 'targets'], { env });
      expect(r.code, JSON.stringify(env)).toBe(0);
      expect(r.stdout).toBe('');
      expect(r.stderr).toBe('');
    }
  });

  it('is not shown in help', async () => {
    const r = await runCli(['--help']);
    expect(r.stdout).not.toContain('__complete');
  });
});

describe('zsh completion', () => {
  /**
   * zsh's completion widgets only run inside the line editor, so the script's own function is
   * driven with `words`/`CURRENT` set as zsh sets them and `_describe`/`compadd` replaced by
   * functions that print what would have been offered.
   */
  async function complete(words: string[], env: NodeJS.ProcessEnv = {}): Promise<string[]> {
    const script = `
      compdef() { :; }
      _describe() { print -l -- \${\${(P)4}%%:*} }
      compadd() { [[ $1 == -a ]] && print -l -- \${(P)2} || print -l -- "$@" }
      _files() { print -- '<files>' }
      source ${JSON.stringify(join(root, 'completions/gatectl.zsh'))}
      words=("$@"); CURRENT=$#
      _gatectl`;
    const { stdout: out } = await run('zsh', ['-f', '-c', script, 'zsh', ...words], {
      env: shellEnv(env),
      encoding: 'utf8',
      cwd: root,
    });
    return out.split('\n').filter(Boolean);
  }

  it('parses', async () => {
    if (!has('zsh')) return;
    execFileSync('zsh', ['-n', join(root, 'completions/gatectl.zsh')]);
  });

  it('offers commands, flags, choices and target names', async () => {
    if (!has('zsh')) return;
    expect(await complete(['gatectl', 'con'])).toEqual(expect.arrayContaining(['connect']));
    expect(await complete(['gatectl', 'request', '--r'])).toEqual(expect.arrayContaining(['--reason']));
    expect(await complete(['gatectl', 'broker', ''])).toEqual(['start', 'check', 'dev', 'dev-token']);
    expect(await complete(['gatectl', 'completion', ''])).toEqual(['bash', 'zsh', 'fish']);
    expect(await complete(['gatectl', 'broker', 'start', '--config', ''])).toEqual(['<files>']);
    const env = { GATECTL_BROKER: broker.url, GATECTL_TOKEN: token };
    expect((await complete(['gatectl', 'connect', ''], env)).sort()).toEqual(['payments-db', 'prod-db']);
  });
});

describe('fish completion', () => {
  /** fish completes a command line non-interactively with `complete -C`. */
  async function complete(line: string, env: NodeJS.ProcessEnv = {}): Promise<string[]> {
    const { stdout: out } = await run(
      'fish',
      [
        '--no-config',
        '-c',
        `source ${join(root, 'completions/gatectl.fish')}; complete -C ${JSON.stringify(line)}`,
      ],
      { env: shellEnv(env), encoding: 'utf8', cwd: root },
    );
    return out
      .split('\n')
      .filter(Boolean)
      .map((l) => l.split('\t')[0]!);
  }

  it('offers commands, flags, choices and target names', async () => {
    if (!has('fish')) return;
    expect(await complete('gatectl con')).toEqual(['connect']);
    expect(await complete('gatectl request --r')).toEqual(['--reason']);
    expect((await complete('gatectl broker ')).sort()).toEqual(['check', 'dev', 'dev-token', 'start']);
    expect((await complete('gatectl completion ')).sort()).toEqual(['bash', 'fish', 'zsh']);
    expect(await complete('gatectl broker check --config package.j')).toEqual(['package.json']);
    const env = { GATECTL_BROKER: broker.url, GATECTL_TOKEN: token };
    expect((await complete('gatectl connect ', env)).sort()).toEqual(['payments-db', 'prod-db']);
  });
});
