import { CommandError, type RunHooks, type RunResult, run, runChecked, tail } from './proc.js';

export const COPY_ROWS = 2_000_000;

/** The statement every COPY measurement runs: two million rows, each with a (Luhn-valid) card number. */
export const COPY_QUERY = 'select id, customer, pan, amount, created_at from payments';

/** psql arguments that stream the COPY to /dev/null on the client side. */
export function copyPsqlArgs(): string[] {
  return ['-X', '-v', 'ON_ERROR_STOP=1', '-c', `\\copy (${COPY_QUERY}) to '/dev/null'`];
}

/** A 16-digit number that passes the Luhn check, so card-number detection treats it as real. */
export function luhnComplete(body15: string): string {
  let sum = 0;
  // Walking from the right of the full 16-digit number, the check digit is position 1 and the
  // body's last digit is position 2, which is doubled.
  for (let i = 0; i < body15.length; i++) {
    let d = body15.charCodeAt(body15.length - 1 - i) - 48;
    if (i % 2 === 0) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return body15 + String((10 - (sum % 10)) % 10);
}

export function luhnValid(pan: string): boolean {
  return luhnComplete(pan.slice(0, -1)) === pan;
}

/** The 1 000 distinct card numbers of `payments`; row `id` carries number `id % 1000`. */
export function benchPans(): string[] {
  return Array.from({ length: 1000 }, (_, i) =>
    luhnComplete(`4111${String(100000000 + i * 7919).padStart(11, '0')}`),
  );
}

/** Creates `payments` (2 000 000 rows) from 1 000 distinct valid card numbers. */
export async function createCopyTable(env: NodeJS.ProcessEnv): Promise<void> {
  const pans: string[] = [];
  for (let i = 0; i < 1000; i++)
    pans.push(luhnComplete(`4111${String(100000000 + i * 7919).padStart(11, '0')}`));
  const sql = [
    'drop table if exists payments, bench_pans',
    'create table bench_pans (k int primary key, pan text not null)',
    `insert into bench_pans values ${pans.map((p, i) => `(${i}, '${p}')`).join(',')}`,
    `create table payments as
       select i as id,
              'customer ' || (i % 50000) as customer,
              p.pan,
              ((i % 100000) / 100.0)::numeric(12, 2) as amount,
              timestamptz '2026-01-01' + (i || ' seconds')::interval as created_at
         from generate_series(1, ${COPY_ROWS}) as i
         join bench_pans p on p.k = i % 1000`,
    'vacuum analyze payments',
  ];
  for (const statement of sql)
    await runChecked('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-c', statement], {
      env,
      timeoutMs: 600_000,
    });
}

/** Checks psql's `COPY n` confirmation, so a timing only counts when every row arrived. */
export function checkCopyOutput(result: RunResult): void {
  if (result.code !== 0)
    throw new CommandError(
      'exit',
      `exit ${result.code ?? result.signal}: ${tail(result.stderr || result.stdout)}`,
      {
        result,
      },
    );
  const m = /^COPY (\d+)$/m.exec(result.stdout);
  if (!m || Number(m[1]) !== COPY_ROWS)
    throw new CommandError(
      'rows',
      `expected COPY ${COPY_ROWS}, got: ${tail(result.stdout || result.stderr)}`,
      {
        result,
      },
    );
}

/** One direct COPY (psql against PG* in `env`); wall time in ms. */
export async function copyDirect(env: NodeJS.ProcessEnv, hooks: RunHooks = {}): Promise<number> {
  const result = await run('psql', copyPsqlArgs(), { env, timeoutMs: 600_000, onSpawn: hooks.onSpawn });
  checkCopyOutput(result);
  return result.wallMs;
}

/**
 * Whether a card number read through the tunnel arrives masked (DESIGN §5.4), so the report says
 * if the tunnel rows were measured with masking doing its work. Only the verdict is kept, never
 * the value.
 */
export function maskedInOutput(stdout: string, expectedPan: string): boolean {
  if (stdout.includes(expectedPan)) return false;
  // psql -At prints the one value on a line of its own; other lines may come from the CLI.
  const lines = stdout.split('\n').map((l) => l.trim());
  if (!lines.some((l) => l.length === expectedPan.length && l.endsWith(expectedPan.slice(-4))))
    throw new CommandError('rows', 'the card number did not come back');
  return true;
}
