import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { overridePostgresEngine } from '../src/broker/tunnels/postgres-engine.js';
import { startTestBroker, type TestBroker } from './support/broker.js';
import { runCli } from './support/cli.js';
import { startPostgres, type TestPostgres } from './support/postgres.js';

let pg: TestPostgres;
let b: TestBroker;
beforeAll(async () => {
  pg = await startPostgres();
  await pg.query(`create role gatectl login password 'relaypw'`);
  overridePostgresEngine({
    createScramVerifier: () => 'SCRAM-SHA-256$4096:AAAA$AAAA:AAAA',
    servePostgresClient: (client, options) =>
      new Promise((resolve) => {
        const up = connect(pg.port, '127.0.0.1');
        void options.hooks.onStart({ user: 'x', database: 'postgres', applicationName: 'relay' });
        client.pipe(up);
        up.pipe(client);
        options.signal?.addEventListener('abort', () => up.destroy());
        let n = 0;
        const done = () => {
          if (n++) return;
          client.destroy();
          up.destroy();
          void Promise.resolve(options.hooks.onEnd({ reason: 'closed', bytesIn: 1, bytesOut: 2 })).then(
            resolve,
          );
        };
        up.on('close', done);
        client.on('close', done);
        up.on('error', () => {});
        client.on('error', () => {});
      }),
  });
  b = await startTestBroker(
    {
      targets: [
        {
          name: 'db',
          kind: 'postgres',
          address: `127.0.0.1:${pg.port}`,
          database: 'postgres',
          credentials: { username: 'postgres', password: { env: 'PGPW' } },
          access: { groups: ['eng'], auto_approve: ['eng'] },
        },
      ],
    },
    { env: { PGPW: pg.password } },
  );
});
afterAll(async () => {
  await b?.close();
  await pg?.stop();
});

describe('plumbing', () => {
  it('relays psql through exec', async () => {
    const token = await b.token({ id: 'alice', groups: ['eng'] });
    const r = await runCli(['exec', 'db', '--', 'sh', '-c', 'PGPASSWORD=relaypw psql -XAtc "select 40+2"'], {
      env: { GATECTL_TOKEN: token, GATECTL_BROKER: b.url },
    });
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('42');
    expect(r.code).toBe(0);
    const sessions = await b.broker.ctx.store.db.selectFrom('sessions').selectAll().execute();
    expect(sessions).toHaveLength(1);
    expect(sessions[0]!.end_reason).toBe('closed');
  });
});
