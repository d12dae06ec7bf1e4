import { generateKeyPairSync } from 'node:crypto';
import { chmodSync, closeSync, mkdtempSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { stringify } from 'yaml';
import { BrokerTokens } from '../src/auth/broker-token.js';
import type { BrokerConfigInput } from '../src/broker/config/schema.js';
import { Secret } from '../src/lib/secret.js';
import { openStore } from '../src/store/store.js';
import type { BenchDatabase } from './postgres.js';
import { killTree, onTeardown, removeDirOnTeardown, spawnTracked, tail, waitForLine } from './proc.js';

export const GATECTL_BIN = resolve(import.meta.dirname, '../../bin/gatectl');
export const BENCH_TARGET = 'bench-db';

/**
 * Extra node arguments for the broker (BENCH_BROKER_NODE_ARGS) and for every `gatectl` CLI the
 * harness spawns (BENCH_CLI_NODE_ARGS), space-separated: `--cpu-prof --cpu-prof-dir=/tmp/prof`
 * profiles them (these flags are refused in NODE_OPTIONS).
 */
export function nodeArgs(name: 'BENCH_BROKER_NODE_ARGS' | 'BENCH_CLI_NODE_ARGS'): string[] {
  return (process.env[name] ?? '').split(' ').filter((a) => a !== '');
}
const BENCH_GROUP = 'bench';

export interface BenchBroker {
  url: string;
  /** The `gatectl` this broker runs, and the one its CLI runs (another tree's, for bench:ab). */
  bin: string;
  pid: number;
  dir: string;
  /** Environment for a spawned `gatectl` CLI: this broker, a broker token, an isolated home. */
  cliEnv: NodeJS.ProcessEnv;
  /** VmRSS and VmHWM of the broker process, in kB (Linux /proc). */
  memory(): { rssKb: number; hwmKb: number };
  /** What the bench target enforces (statement rules, masking, recording), for the results. */
  target: { statementRules: number; masking: string; recording: string };
  /** Tail of the broker's log, for error messages. */
  logTail(): string;
}

/**
 * The real broker as its own process (`gatectl broker start --config …`), configured with one
 * PostgreSQL target that has policy, masking and recording on, as production would (DESIGN §10).
 * The session signing key is fixed in the config so the harness can mint a token for the CLI.
 */
export async function startBenchBroker(db: BenchDatabase, bin = GATECTL_BIN): Promise<BenchBroker> {
  const dir = mkdtempSync(join(tmpdir(), 'gatectl-bench-broker-'));
  removeDirOnTeardown(dir);
  const keyFile = join(dir, 'session-key.pem');
  const { privateKey } = generateKeyPairSync('ed25519');
  writeFileSync(keyFile, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  const dbFile = join(dir, 'broker.db');
  const config: BrokerConfigInput = {
    listen: '127.0.0.1:0',
    store: `sqlite://${dbFile}`,
    log: { level: 'warn' },
    auth: { session: { ttl: '8h', signing_key: { file: keyFile } } },
    targets: [
      {
        name: BENCH_TARGET,
        kind: 'postgres',
        description: 'benchmark database',
        address: `${db.host}:${db.port}`,
        database: db.database,
        tls: { mode: 'disable' },
        credentials: { username: db.user, password: { env: 'BENCH_UPSTREAM_PASSWORD' } },
        access: {
          groups: [BENCH_GROUP],
          auto_approve: [BENCH_GROUP],
          max_duration: '4h',
          default_duration: '2h',
        },
        statements: [
          { when: { kind: ['drop', 'truncate', 'alter_system'] }, action: 'deny' },
          { when: { kind: ['insert', 'update', 'delete', 'copy_from', 'ddl'] }, action: 'approve' },
        ],
        masking: { card_numbers: 'show_last4' },
        recording: { results: 'masked', max_rows_per_query: 100 },
      },
    ],
  };
  const configFile = join(dir, 'broker.yaml');
  writeFileSync(configFile, stringify(config));

  const logFile = join(dir, 'broker.log');
  const logFd = openSync(logFile, 'a');
  const child = spawnTracked(
    process.execPath,
    [...nodeArgs('BENCH_BROKER_NODE_ARGS'), bin, 'broker', 'start', '--config', configFile],
    {
      env: { ...process.env, BENCH_UPSTREAM_PASSWORD: db.password, NO_COLOR: '1' },
      stdio: ['ignore', logFd, 'pipe'],
    },
  );
  closeSync(logFd);
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (d: string) => {
    stderr = (stderr + d).slice(-32 * 1024);
  });
  onTeardown('broker', async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    killTree(child, 'SIGTERM');
    const timer = setTimeout(() => killTree(child, 'SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  });
  const m = await waitForLine(child, /listening on (\S+)/, 30_000);
  const url = m[1]!;

  // The broker has migrated its store by now; a token signed with the configured key is what
  // `gatectl login` would have obtained for a machine identity in the bench group.
  const store = await openStore(`sqlite://${dbFile}`);
  let token: string;
  try {
    const tokens = await BrokerTokens.open(store, new Secret(readFileSync(keyFile, 'utf8'), keyFile));
    ({ token } = await tokens.issue(
      { id: 'bench@gatectl.invalid', kind: 'machine', groups: [BENCH_GROUP] },
      4 * 3600_000,
    ));
  } finally {
    await store.close();
  }

  const cliHome = mkdtempSync(join(dir, 'home-'));
  chmodSync(cliHome, 0o700);
  const cliEnv: NodeJS.ProcessEnv = { ...process.env };
  for (const k of [
    'GATECTL_ID_TOKEN',
    'GATECTL_PROFILE',
    'PGHOST',
    'PGPORT',
    'PGUSER',
    'PGPASSWORD',
    'PGDATABASE',
  ])
    delete cliEnv[k];
  Object.assign(cliEnv, {
    GATECTL_HOME: cliHome,
    GATECTL_BROKER: url,
    GATECTL_TOKEN: token,
    GATECTL_PROMPT_DISABLED: '1',
    NO_COLOR: '1',
  });

  const pid = child.pid!;
  const target = config.targets![0]!;
  return {
    url,
    bin,
    pid,
    dir,
    cliEnv,
    target: {
      statementRules: target.kind === 'postgres' ? (target.statements?.length ?? 0) : 0,
      masking: target.kind === 'postgres' ? JSON.stringify(target.masking) : '',
      recording: target.kind === 'postgres' ? JSON.stringify(target.recording) : '',
    },
    memory() {
      const status = readFileSync(`/proc/${pid}/status`, 'utf8');
      const kb = (key: string) =>
        Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN);
      return { rssKb: kb('VmRSS'), hwmKb: kb('VmHWM') };
    },
    logTail() {
      let log = '';
      try {
        log = readFileSync(logFile, 'utf8');
      } catch {
        // no log yet
      }
      const lines = `${log}\n${stderr}`.split('\n').filter((l) => l.trim() && !/listening on/.test(l));
      return lines.length > 0 ? tail(lines.join('\n'), 5) : '(empty)';
    },
  };
}
