import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer as createHttpServer, request } from 'node:http';
import { type AddressInfo, connect, createServer, type Server, type Socket } from 'node:net';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import {
  adoptReusingReadBuffer,
  connectReusingReadBuffer,
  lendReads,
  readRegionStats,
} from './reused-read-buffer.js';

const servers: Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await new Promise<void>((r) => s.close(() => r()));
});

/** A loopback server that hands its one connection to `onConnection`. */
async function serve(onConnection: (peer: Socket) => void): Promise<number> {
  const server = createServer({ noDelay: true }, onConnection);
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return (server.address() as AddressInfo).port;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * A socket that reads into a reused buffer, connected to a plain peer that `onPeer` drives:
 * either the client side (`connect…`) or the server side (`adopt…` of the accepted socket).
 */
type Open = (onPeer: (peer: Socket) => void) => Promise<Socket>;

const connected: Open = async (onPeer) => {
  const port = await serve(onPeer);
  return connectReusingReadBuffer({ host: '127.0.0.1', port, noDelay: true });
};

/** A plain client connected to a loopback server; `accepted` is the server's side, as accepted. */
async function acceptedPair(): Promise<{ peer: Socket; accepted: Socket }> {
  let accept!: (s: Socket) => void;
  const accepted = new Promise<Socket>((r) => {
    accept = r;
  });
  const port = await serve((s) => accept(s));
  const peer = connect({ host: '127.0.0.1', port, noDelay: true });
  return { peer, accepted: await accepted };
}

const adopted: Open = async (onPeer) => {
  const { peer, accepted } = await acceptedPair();
  const socket = adoptReusingReadBuffer(accepted);
  // Adoption really happened: the accepted socket gave its connection to a new one.
  expect(socket).not.toBe(accepted);
  onPeer(peer);
  return socket;
};

function collect(socket: Socket): { chunks: Buffer[]; ended: Promise<void> } {
  const chunks: Buffer[] = [];
  socket.on('data', (c: Buffer) => chunks.push(c));
  const ended = new Promise<void>((resolve, reject) => {
    socket.once('end', resolve);
    socket.once('error', reject);
  });
  return { chunks, ended };
}

describe.each([
  ['connectReusingReadBuffer', connected],
  ['adoptReusingReadBuffer', adopted],
])('%s', (_name, open: Open) => {
  it('hands out chunks the listener can keep: reads of every size stay intact after later reads', async () => {
    // One write per size, spaced out so that each arrives as its own read, from one byte to
    // more than the read buffer holds. Keeping every chunk until the end catches a chunk that
    // still pointed into the read buffer when it was read into again.
    const sizes = [1, 5, 100, 4095, 4096, 4097, 16_383, 16_384, 16_385, 40_000, 65_536, 70_000, 300_000, 7];
    const payloads = sizes.map((n) => randomBytes(n));
    const socket = await open(async (peer) => {
      for (const p of payloads) {
        peer.write(p);
        await sleep(15);
      }
      peer.end();
    });
    const { chunks, ended } = collect(socket);
    await ended;
    expect(Buffer.concat(chunks).equals(Buffer.concat(payloads))).toBe(true);
    // Reads of both kinds happened: large ones and small ones (Node's buffer pool).
    expect(chunks.some((c) => c.length > 16_384)).toBe(true);
    expect(chunks.filter((c) => c.length <= 100).length).toBeGreaterThanOrEqual(3);
    socket.destroy();
  });

  it('keeps the bytes of sockets that read at the same time apart (they share one read buffer)', async () => {
    const sockets = 6;
    const payloads = Array.from({ length: sockets }, () =>
      Array.from({ length: 40 }, (_, i) => randomBytes(1 + ((i * 977) % 9000))),
    );
    const opened = await Promise.all(
      payloads.map((parts) =>
        open(async (peer) => {
          for (const p of parts) {
            peer.write(p);
            await sleep(2);
          }
          peer.end();
        }),
      ),
    );
    const received = opened.map((socket) => collect(socket));
    await Promise.all(received.map((r) => r.ended));
    for (let i = 0; i < sockets; i++) {
      expect(Buffer.concat(received[i]!.chunks).equals(Buffer.concat(payloads[i]!))).toBe(true);
      // Read in many pieces, interleaved with the other sockets' reads.
      expect(received[i]!.chunks.length).toBeGreaterThan(10);
    }
    for (const socket of opened) socket.destroy();
  });

  it('stops reading while paused, so the peer feels backpressure, and delivers everything on resume', async () => {
    const total = 16 * 1024 * 1024;
    const data = randomBytes(total);
    let peerSocket: Socket | undefined;
    const socket = await open((peer) => {
      peerSocket = peer;
      peer.write(data.subarray(0, 10));
      setTimeout(() => {
        peer.write(data.subarray(10));
        peer.end();
      }, 50);
    });
    const chunks: Buffer[] = [];
    let duringPause = 0;
    let paused = false;
    socket.on('data', (c: Buffer) => {
      chunks.push(c);
      if (paused) duringPause++;
      if (chunks.length === 1) {
        socket.pause();
        paused = true;
      }
    });
    const ended = new Promise<void>((r) => socket.once('end', r));
    await sleep(400);
    expect(duringPause).toBe(0);
    // The kernel buffers filled up and the rest waits in the peer's socket.
    expect(peerSocket!.writableLength).toBeGreaterThan(0);
    paused = false;
    socket.resume();
    await ended;
    expect(Buffer.concat(chunks).equals(data)).toBe(true);
    socket.destroy();
  });

  it('lends its reads to a destination that falls behind: every byte arrives intact, read into a few reused regions', async () => {
    // The relay's shape: each chunk is written to the destination, the source paused while the
    // destination holds more than its limit. The destination's reader stops now and then, so writes stay
    // pending while the source reads on: a region read into again before its bytes were sent
    // would corrupt them.
    const data = randomBytes(24 * 1024 * 1024);
    const tail = Buffer.from('the end');
    const received: Buffer[] = [];
    let sunk!: () => void;
    const allSunk = new Promise<void>((r) => {
      sunk = r;
    });
    const sinkPort = await serve((sink) => {
      let n = 0;
      sink.on('data', (c: Buffer) => {
        received.push(c);
        if (++n % 8 === 0) {
          sink.pause();
          setTimeout(() => sink.resume(), 4);
        }
      });
      sink.on('end', () => sunk());
    });
    const dest = connect({ host: '127.0.0.1', port: sinkPort, noDelay: true });
    await once(dest, 'connect');
    let go!: () => void;
    const started = new Promise<void>((r) => {
      go = r;
    });
    const socket = await open(async (peer) => {
      await started;
      peer.write(data);
      // Then a small read on its own, after which the socket needs no region any more.
      await sleep(300);
      peer.end(tail);
    });
    const before = readRegionStats();
    lendReads(socket, dest);
    let bulkReads = 0;
    let pausedWithPending = 0;
    let readWhilePending = 0;
    let freeInBulk = -1;
    let freeAfterTail = -1;
    socket.on('data', (c: Buffer) => {
      if (dest.writableLength > 0) readWhilePending++;
      if (c.length >= 4096) {
        bulkReads++;
        freeInBulk = readRegionStats().free;
      }
      if (c.equals(tail)) setImmediate(() => (freeAfterTail = readRegionStats().free));
      dest.write(c);
      // The tunnel's limit: the WebSocket side of a relay takes 256 KiB before it pushes back.
      if (dest.writableLength > 256 * 1024) {
        pausedWithPending++;
        socket.pause();
        dest.once('drain', () => socket.resume());
      }
    });
    socket.once('end', () => dest.end());
    go();
    await allSunk;
    expect(Buffer.concat(received).equals(Buffer.concat([data, tail]))).toBe(true);
    // The destination really fell behind, and most reads were large.
    expect(pausedWithPending).toBeGreaterThan(3);
    expect(readWhilePending).toBeGreaterThan(20);
    expect(bulkReads).toBeGreaterThan(300);
    // A few regions served hundreds of reads, and the last one went back to the pool.
    expect(readRegionStats().allocated - before.allocated).toBeLessThanOrEqual(8);
    expect(freeAfterTail).toBeGreaterThan(freeInBulk);
    socket.destroy();
    dest.destroy();
  });

  it('lends its reads of every size: a region is read into again only once the destination has finished with it', async () => {
    // A destination that takes its time over every write (1 ms) and only then reads the bytes,
    // as the kernel does, so chunks stay pending while the source reads on. The peer sends
    // pieces of 1 to 24 KiB one per turn of the event loop: reads land one after another in the
    // same region, and go back and forth between regions and the shared buffer.
    const pieces: Buffer[] = [];
    for (let i = 0, total = 0; total < 6 * 1024 * 1024; i++) {
      const piece = randomBytes(1024 * (1 + ((i * 7) % 24)) - (i % 3));
      pieces.push(piece);
      total += piece.length;
    }
    const received: Buffer[] = [];
    let readWhilePending = 0;
    let offsetReads = 0;
    const dest = new Writable({
      highWaterMark: 256 * 1024,
      writev(chunks, done) {
        setTimeout(() => {
          for (const { chunk } of chunks) received.push(Buffer.from(chunk as Buffer));
          done();
        }, 1);
      },
    });
    let go!: () => void;
    const started = new Promise<void>((r) => {
      go = r;
    });
    const socket = await open(async (peer) => {
      await started;
      for (const piece of pieces) {
        peer.write(piece);
        await new Promise((r) => setImmediate(r));
      }
      peer.end();
    });
    lendReads(socket, dest);
    socket.on('data', (c: Buffer) => {
      if (dest.writableLength > 0) readWhilePending++;
      if (c.byteOffset > 0 && c.buffer.byteLength === 64 * 1024) offsetReads++;
      if (!dest.write(c)) {
        socket.pause();
        dest.once('drain', () => socket.resume());
      }
    });
    const finished = new Promise<void>((r) => dest.once('finish', r));
    socket.once('end', () => dest.end());
    go();
    await finished;
    expect(Buffer.concat(received).equals(Buffer.concat(pieces))).toBe(true);
    // Reads went on while writes were pending, some of them into the rest of a region.
    expect(readWhilePending).toBeGreaterThan(30);
    expect(offsetReads).toBeGreaterThan(5);
    socket.destroy();
  });

  it("emits the peer's end and the close, and still writes", async () => {
    const socket = await open((peer) => {
      peer.once('data', (d: Buffer) => peer.end(Buffer.concat([Buffer.from('echo:'), d])));
    });
    const { chunks, ended } = collect(socket);
    const closed = new Promise<boolean>((r) => socket.once('close', r));
    socket.write('hello');
    await ended;
    socket.end();
    expect(await closed).toBe(false);
    expect(Buffer.concat(chunks).toString()).toBe('echo:hello');
  });
});

describe('connectReusingReadBuffer', () => {
  it('reports a refused connection as an error', async () => {
    const port = await serve(() => {});
    await new Promise<void>((r) => servers.pop()!.close(() => r()));
    const socket = connectReusingReadBuffer({ host: '127.0.0.1', port });
    const err = await new Promise<NodeJS.ErrnoException>((r) => socket.once('error', r));
    expect(err.code).toBe('ECONNREFUSED');
  });
});

describe('adoptReusingReadBuffer', () => {
  it("takes over a socket an HTTP server upgraded, after the handshake's own bytes", async () => {
    // The broker's case: the WebSocket's socket comes from the server's 'upgrade' event.
    const http = createHttpServer();
    servers.push(http as unknown as Server);
    http.on('upgrade', (_req, raw: Socket, head: Buffer) => {
      const socket = adoptReusingReadBuffer(raw);
      expect(socket).not.toBe(raw);
      expect(raw.destroyed).toBe(true);
      socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n');
      socket.write(Buffer.concat([Buffer.from('head:'), head]));
      socket.on('data', (d: Buffer) => socket.write(d));
      socket.on('end', () => socket.end());
    });
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
    const req = request({
      host: '127.0.0.1',
      port: (http.address() as AddressInfo).port,
      headers: { connection: 'Upgrade', upgrade: 'echo' },
    });
    req.end();
    const [, client, head] = (await once(req, 'upgrade')) as [unknown, Socket, Buffer];
    const received: Buffer[] = [head];
    client.on('data', (d: Buffer) => received.push(d));
    const payload = randomBytes(200_000);
    client.write(payload);
    await sleep(100);
    client.end();
    await once(client, 'close');
    expect(Buffer.concat(received).equals(Buffer.concat([Buffer.from('head:'), payload]))).toBe(true);
  });

  it('leaves a socket that already holds unread bytes as it is, and loses none', async () => {
    const { peer, accepted: socket } = await acceptedPair();
    peer.end('early bytes');
    // Reading without a consumer fills the stream's buffer: those bytes cannot move.
    socket.pause();
    socket.read(0);
    await sleep(100);
    expect(socket.readableLength).toBeGreaterThan(0);
    expect(adoptReusingReadBuffer(socket)).toBe(socket);
    const { chunks, ended } = collect(socket);
    socket.resume();
    await ended;
    expect(Buffer.concat(chunks).toString()).toBe('early bytes');
    socket.destroy();
    peer.destroy();
  });

  it('leaves a destroyed socket as it is', async () => {
    const { peer, accepted: socket } = await acceptedPair();
    socket.destroy();
    expect(adoptReusingReadBuffer(socket)).toBe(socket);
    peer.destroy();
  });
});
