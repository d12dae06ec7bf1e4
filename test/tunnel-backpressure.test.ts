import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { WebSocketByteStream } from '../src/lib/websocket/byte-stream.js';
import { serverHandshake } from '../src/lib/websocket/handshake.js';
import { spawnCli } from './support/cli.js';
import { eventually, startTunnelWorld, TARGET, type TunnelWorld } from './tunnel-fixtures.js';

const MiB = 1024 * 1024;

/** Resolves when `emitter` emits `event`, or with `null` after `ms` (the peer stopped reading). */
function eventOrStall(emitter: NodeJS.EventEmitter, event: string, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      emitter.off(event, on);
      resolve(false);
    }, ms);
    const on = () => {
      clearTimeout(timer);
      resolve(true);
    };
    emitter.once(event, on);
  });
}

describe('WebSocketByteStream', () => {
  let server: Server;
  const accepted: WebSocketByteStream[] = [];
  let onStream: ((s: WebSocketByteStream) => void) | null = null;
  beforeAll(async () => {
    // The broker's side of the tunnel (handshake and byte stream) against a `ws` client.
    server = createServer();
    server.on('upgrade', (req, socket, head) => {
      const hs = serverHandshake(req.method, req.headers);
      if ('refusal' in hs) {
        socket.destroy();
        return;
      }
      socket.write(hs.response);
      const stream = new WebSocketByteStream(socket as Socket, { role: 'server', head, writeLimit: LIMIT });
      accepted.push(stream);
      onStream?.(stream);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  });
  afterAll(async () => {
    for (const s of accepted) s.destroy();
    await new Promise<void>((r) => server.close(() => r()));
  });
  const LIMIT = 256 * 1024;

  it('stops its writer while the peer does not read, holding a bounded amount, and loses nothing', async () => {
    const streamReady = new Promise<WebSocketByteStream>((r) => {
      onStream = r;
    });
    const client = new WebSocket(`ws://127.0.0.1:${(server.address() as AddressInfo).port}/`, {
      perMessageDeflate: false,
    });
    await new Promise((r) => client.once('open', r));
    // The reader takes nothing: its TCP receive buffer fills, then the server's send buffer.
    client.pause();
    const received: Buffer[] = [];
    let receivedBytes = 0;
    client.on('message', (d: Buffer) => {
      received.push(d);
      receivedBytes += d.length;
    });
    const stream = await streamReady;

    const chunk = 64 * 1024;
    const limit = 256 * MiB;
    let written = 0;
    let maxHeld = 0;
    // Writes like the relay does: until write() says stop, then wait for 'drain'.
    for (;;) {
      const data = Buffer.alloc(chunk, written / chunk);
      const more = stream.write(data);
      written += chunk;
      maxHeld = Math.max(maxHeld, stream.writableLength);
      if (written >= limit) break;
      if (!more && !(await eventOrStall(stream, 'drain', 1000))) break;
    }
    // Only the kernel's socket buffers (a few MiB on loopback) and the bounded user-space buffer
    // lie between writer and reader: the writer stalled long before the limit.
    expect(written).toBeLessThan(limit);
    expect(maxHeld).toBeLessThanOrEqual(LIMIT + chunk + 14);

    client.resume();
    await eventually(async () => receivedBytes === written, 30_000);
    const all = Buffer.concat(received);
    expect(received.length).toBe(written / chunk);
    for (let i = 0; i < written / chunk; i++) expect(all[i * chunk]).toBe(i & 0xff);
    // And the other way: what the client sends arrives as bytes, in order.
    const got: Buffer[] = [];
    stream.on('data', (d: Buffer) => got.push(d));
    for (let i = 0; i < 100; i++) client.send(Buffer.from(`m${i};`));
    await eventually(async () => Buffer.concat(got).toString().endsWith('m99;'), 5_000);
    expect(Buffer.concat(got).toString()).toBe(Array.from({ length: 100 }, (_, i) => `m${i};`).join(''));
    const closed = new Promise<number>((r) => client.once('close', (code) => r(code)));
    stream.end();
    expect(await closed).toBe(1000);
  });
});

describe('a slow reader of a large COPY through the tunnel', () => {
  let w: TunnelWorld;
  let connect: ChildProcess | undefined;
  let psql: ChildProcess | undefined;
  beforeAll(async () => {
    w = await startTunnelWorld();
  });
  afterAll(async () => {
    psql?.kill('SIGKILL');
    connect?.kill('SIGKILL');
    await w?.close();
  });

  const rss = (pid: number) =>
    Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) * 1024;

  it('holds PostgreSQL back instead of buffering the result in the broker or the CLI, and delivers it intact', async () => {
    // Straight to the broker (the fixture's recording proxy would keep a copy of every byte).
    connect = spawnCli(['connect', TARGET], {
      env: await w.cliEnv('slow@example.com', { GATECTL_BROKER: w.broker.url }),
    });
    let line = '';
    const uri = await new Promise<string>((resolve, reject) => {
      connect!.stdout!.setEncoding('utf8').on('data', (d: string) => {
        line += d;
        if (line.includes('\n')) resolve(line.split('\n')[0]!);
      });
      connect!.once('exit', (code) => reject(new Error(`gatectl connect exited with ${code}`)));
    });

    const rows = 120_000;
    const rowBytes = 1001; // 1000 characters and a newline
    const total = rows * rowBytes;
    // A warm-up so both processes' baselines include the connection machinery.
    await new Promise<void>((resolve, reject) => {
      const p = spawn('psql', ['-XAtc', 'select 1', uri], { stdio: 'ignore' });
      p.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`psql exited with ${code}`))));
    });
    global.gc?.();
    const brokerBuffersBefore = process.memoryUsage().arrayBuffers;
    const cliBefore = rss(connect.pid!);

    // Every row differs (its number, then a letter that changes with it), so a byte that was
    // overwritten or reordered on the way shows in the digest, not only a missing one.
    const expected = createHash('sha256');
    for (let i = 1; i <= rows; i++)
      expected.update(`${String(i).padStart(10, '0')}${String.fromCharCode(65 + (i % 26)).repeat(990)}\n`);
    psql = spawn(
      'psql',
      [
        '-XAt',
        uri,
        '-c',
        `\\copy (select lpad(i::text, 10, '0') || repeat(chr(65 + i % 26), 990) from generate_series(1, ${rows}) as i) to stdout`,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    // psql's stdout is not read: once the pipe is full psql stops reading its socket.
    psql.stdout!.pause();

    // The backend ends up waiting to write to its client and stays there: every hop passed the
    // backpressure on instead of absorbing the result.
    const stalled = async () => {
      const r = await w.pg.query(
        "select wait_event from pg_stat_activity where backend_type = 'client backend' and query like 'COPY%generate_series%'",
        'app',
      );
      return r.rows[0]?.wait_event === 'ClientWrite';
    };
    await eventually(stalled, 30_000);
    for (let i = 0; i < 3; i++) {
      await new Promise((r) => setTimeout(r, 300));
      expect(await stalled()).toBe(true);
    }
    // With the result (120 MB) pending, neither side holds more than a small part of it.
    expect(process.memoryUsage().arrayBuffers - brokerBuffersBefore).toBeLessThan(24 * MiB);
    expect(rss(connect.pid!) - cliBefore).toBeLessThan(48 * MiB);

    // Reading again lets everything through, intact.
    let bytes = 0;
    const digest = createHash('sha256');
    psql.stdout!.on('data', (d: Buffer) => {
      bytes += d.length;
      digest.update(d);
    });
    psql.stdout!.resume();
    const code = await new Promise<number | null>((r) => psql!.once('exit', (c) => r(c)));
    expect(code).toBe(0);
    expect(bytes).toBe(total);
    expect(digest.digest('hex')).toBe(expected.digest('hex'));
    connect.kill('SIGINT');
    await new Promise((r) => connect!.once('exit', r));
  }, 120_000);
});
