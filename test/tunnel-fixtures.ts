import { randomBytes } from 'node:crypto';
import { createServer, type Server, connect as tcpConnect } from 'node:net';
import type { BrokerConfigInput } from '../src/broker/config/schema.js';
import { startTestBroker, type TestBroker } from './support/broker.js';
import { type CliResult, runCli, spawnCli } from './support/cli.js';
import { startPostgres, type TestPostgres, type TestPostgresOptions } from './support/postgres.js';

/** Everything a tunnel test needs: a real PostgreSQL target, a broker, and a window on what the CLI receives. */
export interface TunnelWorld {
  pg: TestPostgres;
  broker: TestBroker;
  /** The upstream password of the target's role; must never reach the CLI. */
  upstreamPassword: string;
  /** Broker URL as the CLI uses it: through a recording proxy. */
  cliBrokerUrl: string;
  /** Every byte the broker sent to a CLI (HTTP answers and WebSocket frames). */
  received(): Buffer;
  /** The broker's log so far (with `captureBrokerLog`). */
  brokerLog(): string;
  /** Output of every CLI run so far. */
  cliOutput: string[];
  token(id: string, groups?: string[]): Promise<string>;
  /** Runs the real CLI against the broker (through the proxy) as `identity`. */
  cli(
    identity: string,
    args: string[],
    options?: { env?: NodeJS.ProcessEnv; timeoutMs?: number },
  ): Promise<CliResult>;
  /** Env for spawnCli. */
  cliEnv(identity: string, env?: NodeJS.ProcessEnv): Promise<NodeJS.ProcessEnv>;
  close(): Promise<void>;
}

export const TARGET = 'db';

/** A TCP proxy that records what flows from the broker back to its clients. */
async function recordingProxy(
  port: number,
  protocol = 'http:',
): Promise<{ url: string; received(): Buffer; close(): Promise<void> }> {
  const chunks: Buffer[] = [];
  const sockets = new Set<import('node:net').Socket>();
  const server: Server = createServer((down) => {
    const up = tcpConnect(port, '127.0.0.1');
    sockets.add(down);
    sockets.add(up);
    up.on('data', (d: Buffer) => chunks.push(Buffer.from(d)));
    down.pipe(up);
    up.pipe(down);
    const end = () => {
      down.destroy();
      up.destroy();
      sockets.delete(down);
      sockets.delete(up);
    };
    up.on('error', end).on('close', end);
    down.on('error', end).on('close', end);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const addr = server.address() as import('node:net').AddressInfo;
  return {
    url: `${protocol}//127.0.0.1:${addr.port}`,
    received: () => Buffer.concat(chunks),
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

export async function startTunnelWorld(
  options: {
    pg?: TestPostgresOptions;
    targets?: (address: string) => BrokerConfigInput['targets'];
    /** Collect the broker's debug log (it goes to this process's stderr) for inspection. */
    captureBrokerLog?: boolean;
    /** Serve the broker over HTTPS with this certificate and key (PEM files). */
    tls?: { cert: string; key: string };
  } = {},
): Promise<TunnelWorld> {
  const pg = await startPostgres(options.pg);
  const upstreamPassword = `Upstream-${randomBytes(12).toString('hex')}`;
  await pg.query(`create role app login password '${upstreamPassword}'`);
  await pg.query('create database app owner app');
  const address = `${pg.host}:${pg.port}`;
  const targets: BrokerConfigInput['targets'] = [
    {
      name: TARGET,
      kind: 'postgres',
      address,
      database: 'app',
      credentials: { username: 'app', password: { env: 'APP_DB_PASSWORD' } },
      access: { groups: ['eng'], auto_approve: ['eng'] },
    },
    ...(options.targets?.(address) ?? []),
  ];
  const brokerLog: string[] = [];
  let restoreStderr = () => {};
  if (options.captureBrokerLog) {
    const previous = process.env.GATECTL_TEST_LOG;
    const write = process.stderr.write;
    process.env.GATECTL_TEST_LOG = '1';
    process.stderr.write = ((chunk: string | Uint8Array) => {
      brokerLog.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
      return true;
    }) as typeof process.stderr.write;
    restoreStderr = () => {
      process.stderr.write = write;
      if (previous === undefined) delete process.env.GATECTL_TEST_LOG;
      else process.env.GATECTL_TEST_LOG = previous;
    };
  }
  const broker = await startTestBroker(
    { targets, ...(options.tls ? { tls: options.tls } : {}) },
    { env: { APP_DB_PASSWORD: upstreamPassword } },
  );
  const proxy = await recordingProxy(Number(new URL(broker.url).port), new URL(broker.url).protocol);
  const cliOutput: string[] = [];
  const token = (id: string, groups = ['eng']) => broker.token({ id, groups });
  const cliEnv = async (identity: string, env: NodeJS.ProcessEnv = {}) => ({
    GATECTL_TOKEN: await token(identity),
    GATECTL_BROKER: proxy.url,
    ...env,
  });
  return {
    pg,
    broker,
    upstreamPassword,
    cliBrokerUrl: proxy.url,
    received: proxy.received,
    cliOutput,
    brokerLog: () => brokerLog.join(''),
    token,
    cliEnv,
    async cli(identity, args, opts = {}) {
      const r = await runCli(args, {
        env: await cliEnv(identity, opts.env),
        timeoutMs: opts.timeoutMs ?? 60_000,
      });
      cliOutput.push(r.stdout, r.stderr);
      return r;
    },
    async close() {
      await proxy.close();
      await broker.close();
      await pg.stop();
      restoreStderr();
    },
  };
}

/** Polls `fn` until it returns a truthy value or `timeoutMs` passes. */
export async function eventually<T>(
  fn: () => Promise<T | undefined | null | false>,
  timeoutMs = 10_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Sessions that never ended: after every test there must be none. */
export async function openSessions(world: TunnelWorld): Promise<number> {
  const rows = await world.broker.broker.ctx.store.db
    .selectFrom('sessions')
    .select('id')
    .where('ended_at', 'is', null)
    .execute();
  return rows.length;
}

/** Live descendants of a process (gatectl, psql, pgbench… a test left running), except embedded PostgreSQL. */
export async function childrenOf(pid: number): Promise<string[]> {
  const { execFileSync } = await import('node:child_process');
  const rows = execFileSync('ps', ['-eo', 'pid=,ppid=,stat=,args='])
    .toString()
    .split('\n')
    .map((l) => /^\s*(\d+)\s+(\d+)\s+(\S+)\s+(.*)$/.exec(l))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ pid: Number(m[1]), ppid: Number(m[2]), stat: m[3]!, args: m[4]! }));
  const out: string[] = [];
  const walk = (parent: number) => {
    for (const r of rows.filter((x) => x.ppid === parent)) {
      if (r.args.includes('/postgres') || r.args.startsWith('postgres:') || r.args.startsWith('ps '))
        continue;
      if (!r.stat.startsWith('Z')) out.push(r.args);
      walk(r.pid);
    }
  };
  walk(pid);
  return out;
}

/**
 * Starts `gatectl connect <TARGET>` for `identity` and resolves with the child and the first line
 * it prints on stdout (the URI, or the JSON with `--json`). `stop()` sends Ctrl-C and waits for
 * the exit; either way the CLI's output goes to `world.cliOutput` once it has exited.
 */
export async function startConnect(
  world: TunnelWorld,
  identity: string,
  args: string[] = [],
  env: NodeJS.ProcessEnv = {},
) {
  const child = spawnCli(['connect', TARGET, ...args], { env: await world.cliEnv(identity, env) });
  let stdout = '';
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
  });
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => {
      world.cliOutput.push(stdout, stderr);
      resolve(code);
    }),
  );
  const line = await new Promise<string>((resolve, reject) => {
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
      if (stdout.includes('\n')) resolve(stdout.split('\n')[0]!);
    });
    void exited.then((code) => reject(new Error(`gatectl connect exited with ${code}: ${stderr}`)));
  });
  const stop = async () => {
    child.kill('SIGINT');
    const code = await exited;
    return { code, stdout, stderr };
  };
  return { child, line, exited, stop, stderr: () => stderr };
}
