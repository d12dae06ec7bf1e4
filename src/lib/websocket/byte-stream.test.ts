import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import { type AddressInfo, connect, createServer as createNetServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type WebSocket, WebSocketServer } from 'ws';
import { WebSocketByteStream } from './byte-stream.js';
import { openWebSocket, UpgradeRefusedError } from './connect.js';
import { encodeFrame, Opcode } from './frame.js';

/**
 * The tunnel's WebSocket client against `ws`, a widely used RFC 6455 implementation that
 * validates masking, framing and close codes strictly: what it accepts, browsers and proxies do.
 */
describe('openWebSocket / WebSocketByteStream against a ws server', () => {
  let server: Server;
  let wss: WebSocketServer;
  let url: URL;
  const peers: WebSocket[] = [];
  beforeAll(async () => {
    server = createServer();
    wss = new WebSocketServer({
      server,
      verifyClient: (info, cb) => {
        if (info.req.headers.authorization === 'Bearer ok') cb(true);
        else cb(false, 403, 'Forbidden', { 'content-type': 'application/json' });
      },
    });
    wss.on('connection', (ws) => {
      peers.push(ws);
      ws.on('message', (data: Buffer, isBinary) => {
        const text = data.toString();
        if (text === 'ping-me') ws.ping(Buffer.from('p1'));
        else if (text === 'close-me') ws.close(4001, 'asked to');
        else ws.send(data, { binary: isBinary });
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = new URL(`ws://127.0.0.1:${(server.address() as AddressInfo).port}/x`);
  });
  afterAll(async () => {
    for (const p of peers) p.terminate();
    wss.close();
    await new Promise<void>((r) => server.close(() => r()));
  });

  const open = () => openWebSocket(url, { headers: { authorization: 'Bearer ok' } });
  const readUntil = (stream: WebSocketByteStream, text: string) =>
    new Promise<string>((resolve) => {
      let got = '';
      const on = (d: Buffer) => {
        got += d.toString();
        if (got.includes(text)) {
          stream.off('data', on);
          resolve(got);
        }
      };
      stream.on('data', on);
    });

  it('sends masked binary frames ws accepts and reads its replies as bytes', async () => {
    const stream = await open();
    const echoed = readUntil(stream, 'world');
    stream.write(Buffer.from('hello '));
    stream.write(Buffer.from('world'));
    expect(await echoed).toBe('hello world');
    // A large write goes out as header + payload (writev) and still arrives whole.
    const big = Buffer.alloc(300_000, 'z');
    const bigEcho = readUntil(stream, 'END');
    stream.write(Buffer.concat([big, Buffer.from('END')]));
    expect((await bigEcho).length).toBe(300_003);
    const closed = new Promise((r) => stream.once('close', r));
    stream.end();
    await closed;
    expect(stream.peerCloseCode).toBe(1000);
  });

  it('answers pings and reports the server close code after the data', async () => {
    const stream = await open();
    // Like a stream, it reads nothing until it has a 'data' listener or is resumed.
    stream.resume();
    const server = peers.at(-1)!;
    const pong = new Promise<string>((r) => server.once('pong', (d: Buffer) => r(d.toString())));
    stream.write(Buffer.from('ping-me'));
    expect(await pong).toBe('p1');
    const ended = new Promise<void>((r) => stream.once('end', () => r()));
    stream.write(Buffer.from('close-me'));
    await ended;
    expect(stream.peerCloseCode).toBe(4001);
  });

  it('rejects with the HTTP status and body when the server refuses the upgrade', async () => {
    const err = await openWebSocket(url, { headers: { authorization: 'Bearer wrong' } }).catch((e) => e);
    expect(err).toBeInstanceOf(UpgradeRefusedError);
    expect((err as UpgradeRefusedError).status).toBe(403);
  });

  it('gives up the handshake when aborted', async () => {
    const controller = new AbortController();
    controller.abort(new Error('stop'));
    await expect(openWebSocket(url, { signal: controller.signal })).rejects.toThrow('stop');
  });
});

describe('WebSocketByteStream while paused', () => {
  it('queues copies: bytes it holds for a paused listener survive the reader reusing its buffer', async () => {
    // A socket that lends its reads hands out views of memory it reads into again; what the
    // stream holds back while nobody listens must not be such a view. The handshake's `head`
    // is parsed while the stream is still paused, so it is queued, and the test owns its memory.
    const server = createNetServer((s) => s.on('error', () => {}));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const socket = connect((server.address() as AddressInfo).port, '127.0.0.1');
    await once(socket, 'connect');
    const payload = Buffer.from('bytes the listener has not read yet');
    const head = Buffer.concat(encodeFrame(Opcode.binary, payload, false));
    const stream = new WebSocketByteStream(socket, { role: 'client', head });
    head.fill(0);
    const received = new Promise<Buffer>((r) => stream.once('data', r));
    expect((await received).equals(payload)).toBe(true);
    stream.destroy();
    await new Promise<void>((r) => server.close(() => r()));
  });
});
