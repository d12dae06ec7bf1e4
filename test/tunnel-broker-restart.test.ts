import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/broker/config/load.js';
import { type Broker, createLogger, startBroker } from '../src/broker/server.js';
import { startConnect as startConnectIn, startTunnelWorld, type TunnelWorld } from './tunnel-fixtures.js';

const run = promisify(execFile);

let w: TunnelWorld;
let restarted: Broker | undefined;
beforeAll(async () => {
  w = await startTunnelWorld();
}, 60_000);
afterAll(async () => {
  await restarted?.close();
  await w?.close();
});

/** psql's answer, or what it printed on stderr when it failed. */
async function psql(uri: string, sql: string): Promise<{ ok: boolean; out: string }> {
  try {
    const { stdout } = await run('psql', ['-XAt', uri, '-c', sql]);
    return { ok: true, out: stdout.trim() };
  } catch (err) {
    return { ok: false, out: String((err as { stderr?: string }).stderr ?? err) };
  }
}

/** `gatectl connect --json` talking to the broker itself, as a user's would (not through the fixtures' recording proxy). */
async function startConnect(identity: string) {
  const c = await startConnectIn(w, identity, ['--json'], { GATECTL_BROKER: w.broker.url });
  const { uri, tunnel_id } = JSON.parse(c.line) as { uri: string; tunnel_id: string };
  return { ...c, uri, tunnel_id };
}

describe('a running `gatectl connect` whose connections the broker cannot take', () => {
  it('tells psql why the broker refused its connection, and exits', async () => {
    const c = await startConnect('refused@example.com');
    expect(await psql(c.uri, 'select 1')).toEqual({ ok: true, out: '1' });
    // The tunnel is closed at the broker behind the CLI's back (its owner, from elsewhere).
    const res = await fetch(`${w.broker.url}/v1/tunnels/${c.tunnel_id}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${await w.token('refused@example.com')}` },
    });
    expect(res.status).toBe(204);
    const refused = await psql(c.uri, 'select 2');
    expect(refused).toEqual({
      ok: false,
      out: expect.stringMatching(/FATAL: +gatectl: this tunnel is closed: open a new one/),
    });
    expect(await c.exited).toBe(1);
    expect(c.stderr()).toContain(
      'The tunnel to db can no longer be used: this tunnel is closed: open a new one',
    );
  });

  it('tells psql that the broker cannot be reached, then carries connections again once it is back', async () => {
    const c = await startConnect('restart@example.com');
    const { uri } = c;
    expect(await psql(uri, 'select 1')).toEqual({ ok: true, out: '1' });

    const url = new URL(w.broker.url);
    await w.broker.broker.close();
    // Not "server closed the connection unexpectedly", which reads as a crashed database.
    const down = await psql(uri, 'select 2');
    expect(down.ok).toBe(false);
    const unreachable = `cannot reach the broker at ${w.broker.url.replaceAll('.', '\\.')} \\(connect ECONNREFUSED`;
    expect(down.out).toMatch(new RegExp(`FATAL: +gatectl: ${unreachable}`));
    expect(c.stderr()).toMatch(new RegExp(`connection 2 failed: ${unreachable}`));

    // The same configuration and store on the same port: a deploy, say.
    const file = join(w.broker.dir, 'restarted.yaml');
    const config = readFileSync(w.broker.configFile, 'utf8');
    expect(config).toContain('listen: 127.0.0.1:0');
    writeFileSync(file, config.replace('listen: 127.0.0.1:0', `listen: 127.0.0.1:${url.port}`));
    restarted = await startBroker({
      loaded: loadConfig(file, { env: { ...process.env, APP_DB_PASSWORD: w.upstreamPassword } }),
      logger: createLogger('silent', process.stderr),
    });
    expect(restarted.url).toBe(w.broker.url);
    // The tunnel, its secret and the caller's token live in the store, so they still hold.
    expect(await psql(uri, 'select 3')).toEqual({ ok: true, out: '3' });
    expect(c.child.exitCode).toBeNull();

    const stopped = await c.stop();
    expect(stopped.code).toBe(0);
    expect(stopped.stderr).toMatch(/Closed the tunnel to db \(3 connections, /);
    expect(w.cliOutput.join('\n')).not.toContain(w.upstreamPassword);
  });
});
