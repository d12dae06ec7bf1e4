import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { openStore, type Store } from '../../store/store.js';
import type { BrokerContext } from '../context.js';
import { SessionEventWriter } from './event-writer.js';
import { SessionRecorder } from './recorder.js';

let store: Store | undefined;
let dir: string | undefined;
afterEach(async () => {
  await store?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** A recorder on a real file-backed store (events go through the writer thread, as in the broker). */
async function recorder(): Promise<{ rec: SessionRecorder; audits: Array<{ type: string; data: unknown }> }> {
  dir = mkdtempSync(join(tmpdir(), 'gatectl-recorder-'));
  store = await openStore(`sqlite://${join(dir, 'r.db')}`);
  const audits: Array<{ type: string; data: unknown }> = [];
  let clock = 1_000;
  const ctx = {
    store,
    log: pino({ level: 'silent' }),
    now: () => clock++,
    audit: async (e: { type: string; data: unknown }) => {
      audits.push(e);
      return e;
    },
  } as unknown as BrokerContext;
  const events = new SessionEventWriter(store, ctx.log, { flushIntervalMs: 5 });
  const rec = new SessionRecorder(ctx, events, {
    identity: 'alice@example.com',
    target: 'db',
    grantId: 'gr_1',
    tunnelId: 'tn_1',
    origin: '127.0.0.1',
    localAddr: '127.0.0.1:5000',
  });
  await rec.hooks.onStart({ applicationName: 'psql', database: 'app', user: 'app' } as never);
  return { rec, audits };
}

const endRow = () =>
  store!.db.selectFrom('sessions').select(['end_reason', 'ended_at']).executeTakeFirstOrThrow();

describe('SessionRecorder end reason', () => {
  it('keeps the reason the session ended with when the broker reports another one afterwards', async () => {
    const { rec, audits } = await recorder();
    for (let i = 0; i < 50; i++)
      rec.hooks.onStatement({
        statement: `select ${i}`,
        paramCount: 0,
        commandTag: 'SELECT 1',
        rows: 1,
        durationMs: 0.1,
        error: null,
      });
    // psql quit (Terminate); while the end is being written the CLI tears the tunnel down.
    const ended = rec.end({ reason: 'client terminated', bytesIn: 10, bytesOut: 20 });
    rec.setEndReason('tunnel_closed');
    await ended;
    expect(await endRow()).toMatchObject({ end_reason: 'client terminated' });
    expect(audits.find((a) => a.type === 'session.end')?.data).toMatchObject({
      reason: 'client terminated',
      statements: 50,
    });
    expect(await store!.readSessionEvents(rec.id)).toHaveLength(50);
  });

  it('records a client that sent Terminate as ending the session, even if the broker was ending it too', async () => {
    const { rec } = await recorder();
    rec.setEndReason('tunnel_closed');
    await rec.end({ reason: 'client terminated', bytesIn: 1, bytesOut: 1 });
    expect(await endRow()).toMatchObject({ end_reason: 'client terminated' });
  });

  it('records why the broker ended the session when it says so first', async () => {
    const { rec } = await recorder();
    rec.setEndReason('grant_revoked');
    await rec.end({ reason: 'grant ended: revoked', bytesIn: 1, bytesOut: 1 });
    expect(await endRow()).toMatchObject({ end_reason: 'grant_revoked' });
  });
});
