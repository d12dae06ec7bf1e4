import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../test/support/ports.js';
import type { BenchDatabase } from './postgres.js';
import { removeDirOnTeardown, spawnTracked, waitForLine, which } from './proc.js';

/**
 * pgbouncer in session mode (one server connection per client, like a gatectl session) in front
 * of the benchmark database, for a reference point from a mature C proxy. `null` when pgbouncer is
 * not installed.
 */
export async function startPgbouncer(db: BenchDatabase): Promise<{ port: number; pid: number } | null> {
  const binary = await which('pgbouncer');
  if (!binary) return null;
  const dir = mkdtempSync(join(tmpdir(), 'gatectl-bench-pgbouncer-'));
  removeDirOnTeardown(dir);
  // pgbouncer refuses to run as root; it then runs as the `postgres` user, which must read its files.
  chmodSync(dir, 0o755);
  const port = await freePort();
  const users = join(dir, 'userlist.txt');
  writeFileSync(users, `"${db.user}" "${db.password}"\n`, { mode: 0o644 });
  const ini = join(dir, 'pgbouncer.ini');
  writeFileSync(
    ini,
    [
      '[databases]',
      `${db.database} = host=${db.host} port=${db.port} dbname=${db.database}`,
      '[pgbouncer]',
      'listen_addr = 127.0.0.1',
      `listen_port = ${port}`,
      'unix_socket_dir =',
      'auth_type = scram-sha-256',
      `auth_file = ${users}`,
      'pool_mode = session',
      'max_client_conn = 1000',
      'default_pool_size = 50',
      'ignore_startup_parameters = extra_float_digits',
      'log_connections = 0',
      'log_disconnections = 0',
      '',
    ].join('\n'),
    { mode: 0o644 },
  );
  const args = process.getuid?.() === 0 ? ['-u', 'postgres', ini] : [ini];
  const child = spawnTracked(binary, args);
  await waitForLine(child, /process up|listening on/i, 10_000);
  // Keep draining its log so a full pipe never stalls it.
  child.stdout?.resume();
  child.stderr?.resume();
  return { port, pid: child.pid! };
}
