import { readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEngine } from './support/pg-engine.js';
import { startPostgres, type TestPostgres } from './support/postgres.js';
import { runTool } from './support/run-tool.js';

const UPSTREAM_PASSWORD = 'Auth-Upstream-Pw-93be';

function target(server: TestPostgres, username = 'app') {
  return { address: `127.0.0.1:${server.port}`, database: 'appdb', credentials: { username } };
}

async function whoAmI(engineEnv: NodeJS.ProcessEnv) {
  return runTool('psql', ['-X', '-At', '-c', 'select current_user, current_database()'], { env: engineEnv });
}

describe('PostgreSQL engine, upstream md5 and trust', () => {
  let server: TestPostgres;
  beforeAll(async () => {
    server = await startPostgres({ authMethod: 'md5' });
    await server.query(
      `set password_encryption = 'md5'; create role app login password '${UPSTREAM_PASSWORD}'`,
    );
    await server.query('create database appdb owner app');
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('logs in with md5', async () => {
    const stored = await server.query("select rolpassword from pg_authid where rolname = 'app'");
    expect(stored.rows[0].rolpassword).toMatch(/^md5/);
    await using engine = await startEngine({ target: target(server), upstreamPassword: UPSTREAM_PASSWORD });
    const r = await whoAmI(engine.env());
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('app|appdb\n');
  });

  it('logs in with trust, without a password', async () => {
    await server.query('create role trusted login');
    const hba = join(server.dataDir, 'pg_hba.conf');
    writeFileSync(hba, `host all trusted 127.0.0.1/32 trust\n${readFileSync(hba, 'utf8')}`);
    await server.query('select pg_reload_conf()');
    await using engine = await startEngine({ target: target(server, 'trusted') });
    const r = await whoAmI(engine.env());
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('trusted|appdb\n');
  });

  it('a refused upstream login is a FATAL that reveals neither password nor details', async () => {
    const wrong = 'Wrong-Upstream-Pw-0c1d';
    await using engine = await startEngine({ target: target(server), upstreamPassword: wrong });
    const c = new pg.Client({ connectionString: engine.url() });
    const err = await c.connect().then(
      () => null,
      (e: Error & { code?: string }) => e,
    );
    await c.end().catch(() => {});
    expect(err?.code).toBe('08004');
    expect(err?.message).toBe('gatectl: the broker could not log in to target "testdb"');
    const r = await whoAmI(engine.env());
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('could not log in to target "testdb"');
    expect(r.stderr).not.toContain('password authentication failed');
    await engine.waitForEnded(2);
    for (const s of engine.sessions) {
      const bytes = s.sentToClient();
      expect(bytes.includes(wrong)).toBe(false);
      expect(bytes.includes('"app"')).toBe(false);
    }
    expect(engine.logs()).toContain('28P01');
    expect(engine.logs()).not.toContain(wrong);
  });

  it('a missing upstream password is refused the same way', async () => {
    await using engine = await startEngine({ target: target(server) });
    const r = await whoAmI(engine.env());
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('could not log in to target "testdb"');
  });
});

describe('PostgreSQL engine, upstream cleartext password and SCRAM', () => {
  let server: TestPostgres;
  beforeAll(async () => {
    server = await startPostgres({ authMethod: 'password' });
    await server.query(`create role app login password '${UPSTREAM_PASSWORD}'`);
    await server.query('create database appdb owner app');
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('logs in with a cleartext password', async () => {
    await using engine = await startEngine({ target: target(server), upstreamPassword: UPSTREAM_PASSWORD });
    const r = await whoAmI(engine.env());
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('app|appdb\n');
  });

  it('logs in with SCRAM-SHA-256', async () => {
    const hba = join(server.dataDir, 'pg_hba.conf');
    writeFileSync(hba, `host all app 127.0.0.1/32 scram-sha-256\n${readFileSync(hba, 'utf8')}`);
    await server.query('select pg_reload_conf()');
    await using engine = await startEngine({ target: target(server), upstreamPassword: UPSTREAM_PASSWORD });
    const r = await whoAmI(engine.env());
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('app|appdb\n');
  });
});

describe('PostgreSQL engine, upstream SCRAM with non-ASCII passwords (SASLprep)', () => {
  let server: TestPostgres;
  beforeAll(async () => {
    server = await startPostgres();
    await server.query('create database appdb');
  });
  afterAll(async () => {
    await server?.stop();
  });

  it.each([
    { role: 'intl_mapped', password: 'pässwörd\u00A0ℌ', why: 'NO-BREAK SPACE → SPACE, ℌ → H' },
    { role: 'intl_zw', password: 'ge\u00ADheim\u200Dnis ﬁ', why: 'zero-width characters removed, ﬁ → fi' },
    { role: 'intl_raw', password: 'pässwörd\u00A0😀', why: 'rejected by SASLprep, so used as it is' },
  ])('logs in as $role with a non-ASCII password ($why)', async ({ role, password }) => {
    // The server prepares the password itself when it computes the role's SCRAM verifier.
    await server.query(`create role ${role} login password '${password}'`);
    const stored = await server.query(`select rolpassword from pg_authid where rolname = '${role}'`);
    expect(stored.rows[0].rolpassword).toMatch(/^SCRAM-SHA-256\$/);
    // libpq (psql) logs in with the same password directly: the verifier is PostgreSQL's own.
    const direct = await runTool('psql', ['-X', '-At', '-c', 'select current_user'], {
      env: {
        ...process.env,
        PGHOST: '127.0.0.1',
        PGPORT: String(server.port),
        PGUSER: role,
        PGDATABASE: 'appdb',
        PGPASSWORD: password,
        PGSSLMODE: 'disable',
      },
    });
    expect(direct.stdout).toBe(`${role}\n`);
    await using engine = await startEngine({ target: target(server, role), upstreamPassword: password });
    const r = await whoAmI(engine.env());
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe(`${role}|appdb\n`);
    expect(engine.logs()).not.toContain(password);
  });
});

describe('PostgreSQL engine, client side', () => {
  let server: TestPostgres;
  beforeAll(async () => {
    server = await startPostgres();
    await server.query(`create role app login password '${UPSTREAM_PASSWORD}'`);
    await server.query('create database appdb owner app');
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('a wrong tunnel secret gets 28P01 and no upstream connection', async () => {
    await using engine = await startEngine({ target: target(server), upstreamPassword: UPSTREAM_PASSWORD });
    const url = engine.url().replace(encodeURIComponent(engine.secret), 'guessed');
    const c = new pg.Client({ connectionString: url, application_name: 'guesser' });
    const err = await c.connect().then(
      () => null,
      (e: Error & { code?: string }) => e,
    );
    await c.end().catch(() => {});
    expect(err?.code).toBe('28P01');
    await engine.waitForEnded(1);
    expect(engine.sessions[0]!.end?.reason).toBe('authentication failed');
    expect(engine.sessions[0]!.start).toBeNull();
    const upstream = await server.query("select 1 from pg_stat_activity where application_name = 'guesser'");
    expect(upstream.rowCount).toBe(0);
  });

  it('declines GSSENCRequest and SSLRequest with N, then offers SCRAM-SHA-256 only', async () => {
    await using engine = await startEngine({ target: target(server), upstreamPassword: UPSTREAM_PASSWORD });
    const socket = connect(engine.port, '127.0.0.1');
    let received = Buffer.alloc(0);
    let waiter: (() => void) | null = null;
    socket.on('data', (d) => {
      received = Buffer.concat([received, d]);
      waiter?.();
    });
    const read = async (n: number) => {
      while (received.length < n) await new Promise<void>((r) => (waiter = r));
      const out = received.subarray(0, n);
      received = received.subarray(n);
      return out;
    };
    const request = (code: number) => {
      const b = Buffer.alloc(8);
      b.writeInt32BE(8, 0);
      b.writeInt32BE(code, 4);
      return b;
    };
    socket.write(request(80877104)); // GSSENCRequest
    expect((await read(1)).toString()).toBe('N');
    socket.write(request(80877103)); // SSLRequest
    expect((await read(1)).toString()).toBe('N');
    const params = Buffer.from('user\0someone\0database\0x\0\0');
    const startup = Buffer.alloc(8 + params.length);
    startup.writeInt32BE(startup.length, 0);
    startup.writeInt32BE(196608, 4);
    params.copy(startup, 8);
    socket.write(startup);
    const header = await read(5);
    expect(String.fromCharCode(header[0]!)).toBe('R');
    const body = await read(header.readInt32BE(1) - 4);
    expect(body.readInt32BE(0)).toBe(10); // AuthenticationSASL
    expect(body.subarray(4).toString('latin1')).toBe('SCRAM-SHA-256\0\0');
    socket.destroy();
  });

  it('an oversized startup packet gets 54000 and a close', async () => {
    await using engine = await startEngine({ target: target(server), upstreamPassword: UPSTREAM_PASSWORD });
    const socket = connect(engine.port, '127.0.0.1');
    const received: Buffer[] = [];
    socket.on('data', (d) => received.push(d));
    const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
    const header = Buffer.alloc(8);
    header.writeInt32BE(100 * 1024 * 1024, 0);
    header.writeInt32BE(196608, 4);
    socket.write(header);
    await closed;
    const reply = Buffer.concat(received);
    expect(String.fromCharCode(reply[0]!)).toBe('E');
    expect(reply.toString('latin1')).toContain('C54000');
  });

  it('an upstream crash and restart gives connected clients a FATAL; new sessions work again', async () => {
    await using engine = await startEngine({ target: target(server), upstreamPassword: UPSTREAM_PASSWORD });
    const c = new pg.Client({ connectionString: engine.url(), application_name: 'crash-victim' });
    await c.connect();
    const errors: Array<Error & { code?: string }> = [];
    c.on('error', (e) => errors.push(e));
    const ended = new Promise<void>((resolve) => c.once('end', resolve));
    const pid = (
      await server.query("select pid from pg_stat_activity where application_name = 'crash-victim'")
    ).rows[0].pid as number;
    // SIGKILL on a backend makes the postmaster restart every backend (crash recovery).
    process.kill(pid, 'SIGKILL');
    await ended;
    expect(errors[0]).toMatchObject({
      code: '08006',
      message: 'gatectl: the connection to the database was lost',
    });
    await engine.waitForEnded(1);
    expect(engine.sessions[0]!.end?.reason).toBe('upstream closed');
    // The engine serves new sessions once the target is back.
    const deadline = Date.now() + 20_000;
    for (;;) {
      const r = await whoAmI(engine.env());
      if (r.code === 0) {
        expect(r.stdout).toBe('app|appdb\n');
        break;
      }
      if (Date.now() > deadline) throw new Error(`target did not come back: ${r.stderr}`);
      await new Promise((res) => setTimeout(res, 200));
    }
  });

  it('passes application_name and drops options that would change the login', async () => {
    await using engine = await startEngine({ target: target(server), upstreamPassword: UPSTREAM_PASSWORD });
    const r = await runTool(
      'psql',
      ['-X', '-At', '-c', "select current_setting('application_name'), current_setting('work_mem')"],
      {
        env: { ...engine.env(), PGAPPNAME: 'my-tool', PGOPTIONS: '-c work_mem=77MB' },
      },
    );
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('my-tool|4MB\n');
  });
});
