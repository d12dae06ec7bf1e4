import { connect, type NetConnectOpts, Socket, type SocketConstructorOpts } from 'node:net';
import { TLSSocket } from 'node:tls';

/** Size of the buffer sockets read into (libuv asks for 64 KiB as well). */
const READ_SIZE = 64 * 1024;

/**
 * The one buffer every such socket of this thread reads into. libuv reads one socket at a time
 * and the read callback copies the bytes out before it returns, so no read can overwrite bytes
 * someone still needs; and an idle connection holds no read buffer of its own (a broker with
 * 500 open sessions would otherwise keep 500 of them).
 */
const shared = Buffer.allocUnsafe(READ_SIZE);

/**
 * `net.connect` for a socket that carries many small reads, such as a relayed database session.
 *
 * By default Node allocates a 64 KiB buffer for every read, shrinks it to the bytes read and
 * wraps it in a new ArrayBuffer, then runs the chunk through the Readable stream machinery; on
 * a relay that is most of the per-read cost (measured with callgrind: about 5 700 instructions
 * per `pgbench -S` transaction of the broker's 45 000). This socket reads into one buffer
 * (`onread`), shared by all of them, and emits each read as a `'data'` event itself.
 *
 * Listeners see the usual contract: every `'data'` chunk is theirs to keep (a copy of the
 * bytes read; a small one comes from Node's buffer pool), so they may queue it or write it
 * without copying. `pause()`/`resume()` stop and restart reading as usual; `'end'`, `'close'`
 * and `'error'` are the socket's own. Not for a socket that TLS will wrap.
 * @see https://nodejs.org/api/net.html#socketconnectoptions-connectlistener (`onread`)
 */
export function connectReusingReadBuffer(options: NetConnectOpts): Socket {
  const socket: Socket = connect({ ...options, onread: readIntoReusedBuffer(() => socket) });
  return socket;
}

/** The part of Node's stream handle (TCP wrap) that adoption relies on. */
interface StreamHandle {
  readStop(): number;
  useUserBuffer(buffer: Uint8Array): void;
  reading?: boolean;
}

/**
 * The same reading for a connection a server accepted (the CLI's local port, the broker's side
 * of a tunnel's WebSocket). Node takes `onread` only where a socket is created, and a server
 * creates its sockets itself, so the accepted socket's handle moves to a new socket created with
 * it: the handle stops reading, the old socket lets go of it and is destroyed (which closes
 * nothing, it has no handle left), and the new socket reads as `connectReusingReadBuffer`'s does.
 * The connection itself, its file descriptor and whatever the kernel holds for it are untouched.
 *
 * The socket is returned unchanged when it cannot move: a TLS socket, one already reading into
 * its stream buffer or with bytes not yet sent (nothing may be lost), or a Node whose sockets
 * lack the handle this relies on (`_handle`, with `readStop` and `useUserBuffer`, as in Node
 * 12 to 24). Callers go on with the returned socket, before attaching any listener; it reads
 * once a `'data'` listener is attached or the event loop runs, and may be paused at once.
 */
export function adoptReusingReadBuffer(socket: Socket): Socket {
  const internal = socket as unknown as { _handle?: StreamHandle | null };
  const handle = internal._handle;
  if (
    socket instanceof TLSSocket ||
    !handle ||
    typeof handle.readStop !== 'function' ||
    typeof handle.useUserBuffer !== 'function' ||
    socket.destroyed ||
    socket.connecting ||
    socket.readableLength > 0 ||
    socket.writableLength > 0
  )
    return socket;
  handle.readStop();
  handle.reading = false;
  internal._handle = null;
  const adopted: Socket = new Socket({
    handle,
    allowHalfOpen: socket.allowHalfOpen,
    onread: readIntoReusedBuffer(() => adopted),
  } as SocketConstructorOpts);
  socket.destroy();
  return adopted;
}

/** The `onread` option that reads into the shared buffer and emits a copy as `'data'` on `socket()`. */
function readIntoReusedBuffer(socket: () => Socket): NonNullable<NetConnectOpts['onread']> {
  return {
    buffer: shared,
    callback: (bytes: number): boolean => {
      const chunk = Buffer.allocUnsafe(bytes);
      shared.copy(chunk, 0, 0, bytes);
      socket().emit('data', chunk);
      // A listener that paused the socket has stopped reading already (net's pause).
      return true;
    },
  };
}
