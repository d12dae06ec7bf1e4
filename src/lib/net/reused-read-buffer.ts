import { connect, type NetConnectOpts, type Socket } from 'node:net';

/** Size of the buffer a socket reads into (libuv asks for 64 KiB as well). */
const READ_SIZE = 64 * 1024;

/**
 * Reads of at most this many bytes are copied out of the read buffer, which is then read into
 * again; a larger read is handed out whole and the next read goes to a fresh buffer. Small
 * reads are the common case of a database session (a query, a row or two) and their copy comes
 * from Node's buffer pool; a large read handed out holds at most four times its size.
 */
const COPY_LIMIT = 16 * 1024;

/**
 * `net.connect` for a socket that carries many small reads, such as a relayed database session.
 *
 * By default Node allocates a 64 KiB buffer for every read, shrinks it to the bytes read and
 * wraps it in a new ArrayBuffer, then runs the chunk through the Readable stream machinery; on
 * a relay that is most of the per-read cost (measured with callgrind: about 5 700 instructions
 * per `pgbench -S` transaction of the broker's 45 000). This socket reads into one buffer
 * (`onread`) and emits each read as a `'data'` event itself.
 *
 * Listeners see the usual contract: every `'data'` chunk is theirs to keep (a small read is
 * copied out; a large one takes the read buffer with it), so they may queue it or write it
 * without copying. `pause()`/`resume()` stop and restart reading as usual; `'end'`, `'close'`
 * and `'error'` are the socket's own. Not for a socket that TLS will wrap.
 * @see https://nodejs.org/api/net.html#socketconnectoptions-connectlistener (`onread`)
 */
export function connectReusingReadBuffer(options: NetConnectOpts): Socket {
  let buffer = Buffer.allocUnsafe(READ_SIZE);
  const socket: Socket = connect({
    ...options,
    onread: {
      buffer: () => buffer,
      callback: (bytes: number): boolean => {
        let chunk: Buffer;
        if (bytes <= COPY_LIMIT) {
          chunk = Buffer.allocUnsafe(bytes);
          buffer.copy(chunk, 0, 0, bytes);
        } else {
          chunk = buffer.subarray(0, bytes);
          buffer = Buffer.allocUnsafe(READ_SIZE);
        }
        socket.emit('data', chunk);
        // A listener that paused the socket has stopped reading already (net's pause).
        return true;
      },
    },
  });
  return socket;
}
