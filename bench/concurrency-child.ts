import { createInterface } from 'node:readline';
import pg from 'pg';

/**
 * Opens N connections at once with the `pg` driver (connection details from PG* variables, as
 * `gatectl exec` provides them), runs Q queries on each, then reports and holds the connections
 * open until a line arrives on stdin (or three seconds pass) so the caller can sample the
 * broker's memory while all of them are live.
 *
 * Usage: node concurrency-child.js <connections> <queries per connection>
 * Prints `bench-conns {json}` lines: phase "open" (all queries done, connections held), then "done".
 */
const connections = Number(process.argv[2] ?? 500);
const queries = Number(process.argv[3] ?? 20);

const errors: string[] = [];
let connectErrors = 0;
let queryErrors = 0;
let queriesOk = 0;
const note = (err: unknown) => {
  const message = (err as Error).message ?? String(err);
  if (errors.length < 5 && !errors.includes(message)) errors.push(message);
};
const report = (phase: string, extra: Record<string, unknown> = {}) =>
  process.stdout.write(
    `bench-conns ${JSON.stringify({ phase, connections, queries, connectErrors, queryErrors, queriesOk, errors, ...extra })}\n`,
  );

const started = performance.now();
const clients = await Promise.all(
  Array.from({ length: connections }, async (_, i) => {
    const client = new pg.Client({ connectionTimeoutMillis: 120_000, application_name: `bench-conn-${i}` });
    client.on('error', (err) => {
      queryErrors++;
      note(err);
    });
    try {
      await client.connect();
      return client;
    } catch (err) {
      connectErrors++;
      note(err);
      return null;
    }
  }),
);
const connectedMs = performance.now() - started;
await Promise.all(
  clients.map(async (client, i) => {
    if (!client) return;
    for (let q = 0; q < queries; q++) {
      try {
        // Extended protocol with a parameter, and a check that the answer is the right one.
        const result = await client.query('select $1::int + 1 as n', [i * queries + q]);
        if (result.rows[0]?.n !== i * queries + q + 1) throw new Error(`wrong answer on connection ${i}`);
        queriesOk++;
      } catch (err) {
        queryErrors++;
        note(err);
      }
    }
  }),
);
const open = clients.filter((c) => c !== null).length;
report('open', { open, connectedMs, totalMs: performance.now() - started });

// Hold until the caller has sampled (a line on stdin), at most a few seconds.
await new Promise<void>((resolve) => {
  const timer = setTimeout(resolve, 3_000);
  const rl = createInterface({ input: process.stdin });
  rl.once('line', () => {
    clearTimeout(timer);
    rl.close();
    resolve();
  });
});
await Promise.all(clients.map((c) => c?.end().catch(note)));
report('done');
process.exit(connectErrors + queryErrors > 0 ? 1 : 0);
