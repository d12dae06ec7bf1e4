import { randomBytes } from 'node:crypto';
import { type AddressInfo, createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { connectReusingReadBuffer } from './reused-read-buffer.js';

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

function collect(socket: Socket): { chunks: Buffer[]; ended: Promise<void> } {
  const chunks: Buffer[] = [];
  socket.on('data', (c: Buffer) => chunks.push(c));
  const ended = new Promise<void>((resolve, reject) => {
    socket.once('end', resolve);
    socket.once('error', reject);
  });
  return { chunks, ended };
}

describe('connectReusingReadBuffer', () => {
  it('hands out chunks the listener can keep: reads of every size stay intact after later reads', async () => {
    // One write per size, spaced out so that each arrives as its own read: small reads are
    // copied out of the reused buffer, large ones take it along. Keeping every chunk until
    // the end catches a buffer that was read into again while a chunk still pointed at it.
    const sizes = [1, 5, 100, 4095, 4096, 4097, 16_383, 16_384, 16_385, 40_000, 65_536, 70_000, 300_000, 7];
    const payloads = sizes.map((n) => randomBytes(n));
    const port = await serve(async (peer) => {
      for (const p of payloads) {
        peer.write(p);
        await sleep(15);
      }
      peer.end();
    });
    const socket = connectReusingReadBuffer({ host: '127.0.0.1', port, noDelay: true });
    const { chunks, ended } = collect(socket);
    await ended;
    expect(Buffer.concat(chunks).equals(Buffer.concat(payloads))).toBe(true);
    // Both paths ran: reads above the copy limit and small ones.
    expect(chunks.some((c) => c.length > 16_384)).toBe(true);
    expect(chunks.filter((c) => c.length <= 100).length).toBeGreaterThanOrEqual(3);
    socket.destroy();
  });

  it('stops reading while paused, so the peer feels backpressure, and delivers everything on resume', async () => {
    const total = 16 * 1024 * 1024;
    const data = randomBytes(total);
    let peerSocket: Socket | undefined;
    const port = await serve((peer) => {
      peerSocket = peer;
      peer.write(data.subarray(0, 10));
      setTimeout(() => {
        peer.write(data.subarray(10));
        peer.end();
      }, 50);
    });
    const socket = connectReusingReadBuffer({ host: '127.0.0.1', port });
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

  it("emits the peer's end and the close, and still writes", async () => {
    const port = await serve((peer) => {
      peer.once('data', (d: Buffer) => peer.end(Buffer.concat([Buffer.from('echo:'), d])));
    });
    const socket = connectReusingReadBuffer({ host: '127.0.0.1', port });
    const { chunks, ended } = collect(socket);
    const closed = new Promise<boolean>((r) => socket.once('close', r));
    socket.write('hello');
    await ended;
    socket.end();
    expect(await closed).toBe(false);
    expect(Buffer.concat(chunks).toString()).toBe('echo:hello');
  });

  it('reports a refused connection as an error', async () => {
    const port = await serve(() => {});
    await new Promise<void>((r) => servers.pop()!.close(() => r()));
    const socket = connectReusingReadBuffer({ host: '127.0.0.1', port });
    const err = await new Promise<NodeJS.ErrnoException>((r) => socket.once('error', r));
    expect(err.code).toBe('ECONNREFUSED');
  });
});
