import { connect, type NetConnectOpts, Socket, type SocketConstructorOpts } from 'node:net';
import type { Writable } from 'node:stream';
import { TLSSocket } from 'node:tls';

/** Size of the buffer sockets read into (libuv asks for 64 KiB as well), and of a lent region. */
const READ_SIZE = 64 * 1024;

/**
 * The one buffer every such socket of this thread reads into. libuv reads one socket at a time
 * and the read callback copies the bytes out before it returns, so no read can overwrite bytes
 * someone still needs; and an idle connection holds no read buffer of its own (a broker with
 * 500 open sessions would otherwise keep 500 of them).
 */
const shared = Buffer.allocUnsafe(READ_SIZE);

/**
 * A read this large moves a lending socket (see `lendReads`) to a region of its own: copied out,
 * it would be an ArrayBuffer of its own (Node's pool takes chunks below half its size). A
 * smaller one, with nothing pending at the destination, moves it back to `shared`.
 */
const BULK_READ = Buffer.poolSize >>> 1;
/** The least room left in a region that the next read may land in. */
const MIN_ROOM = 16 * 1024;
/** Regions one socket keeps aside while its destination has bytes pending (the tunnel's limit is 256 KiB). */
const MAX_LENT = 8;
/** Free regions kept for the next socket that needs one (2 MiB). */
const POOL_MAX = 32;
const pool: Buffer[] = [];
let regionsAllocated = 0;

function takeRegion(): Buffer {
  const region = pool.pop();
  if (region) return region;
  regionsAllocated++;
  return Buffer.allocUnsafeSlow(READ_SIZE);
}

function giveRegion(region: Buffer): void {
  if (pool.length < POOL_MAX) pool.push(region);
}

/** For tests and benchmarks: read regions allocated on this thread so far, and how many are free. */
export function readRegionStats(): { allocated: number; free: number } {
  return { allocated: regionsAllocated, free: pool.length };
}

/**
 * Where one socket's reads land, and what each read is emitted as.
 *
 * By default every read lands in `shared` and is copied out. A socket that lends its reads
 * (`lendReads`) and reads in bulk lands them in a region of its own instead and emits views of
 * it, without a copy or an allocation: a COPY out streams gigabytes, and a new ArrayBuffer per
 * read is what made V8 run a full collection of the whole heap every few dozen megabytes.
 * A region's bytes are read into again only when `dest` has nothing pending, that is when every
 * chunk handed to it has reached the kernel; until then reads go to the rest of the region or to
 * another one, and the regions that may still be pending are kept aside ("lent") until then.
 */
class ReadTarget {
  dest: Writable | null = null;
  /** The region reads land in while the socket reads in bulk; null while it reads into `shared`. */
  #region: Buffer | null = null;
  /** Where in `#region` the next read lands. */
  #at = 0;
  /** Regions that hold bytes which may still be pending at `dest`. */
  readonly #lent: Buffer[] = [];

  /** The bytes of a read of `n`, as the chunk to emit. */
  chunk(n: number): Buffer {
    const region = this.#region;
    if (region === null) {
      const chunk = Buffer.allocUnsafe(n);
      shared.copy(chunk, 0, 0, n);
      return chunk;
    }
    const at = this.#at;
    this.#at = at + n;
    return region.subarray(at, at + n);
  }

  /** Where the next read lands, once the chunk of the last read (`n` bytes) has been handled. */
  next(n: number): Buffer {
    const dest = this.dest;
    let region = this.#region;
    if (dest === null) return shared;
    if (region === null) {
      if (n < BULK_READ) return shared;
      region = this.#region = takeRegion();
      this.#at = 0;
      return region;
    }
    if (dest.writableLength === 0) {
      // Everything handed over has left user space: every region is free again.
      for (const r of this.#lent) giveRegion(r);
      this.#lent.length = 0;
      if (n < BULK_READ) {
        this.#region = null;
        giveRegion(region);
        return shared;
      }
      this.#at = 0;
      return region;
    }
    if (READ_SIZE - this.#at >= MIN_ROOM) return region.subarray(this.#at);
    // A destination that never empties between reads would make this list grow without end:
    // past a few, the oldest is left to the garbage collector instead of coming back here.
    if (this.#lent.push(region) > MAX_LENT) this.#lent.shift();
    region = this.#region = takeRegion();
    this.#at = 0;
    return region;
  }

  /** The socket closed: its regions go back to the pool if nothing of them is pending. */
  release(): void {
    const dest = this.dest;
    if (dest !== null && dest.writableLength === 0) {
      for (const r of this.#lent) giveRegion(r);
      if (this.#region) giveRegion(this.#region);
    }
    this.#lent.length = 0;
    this.#region = null;
    this.dest = null;
  }
}

/** The read targets of the sockets made here, for `lendReads`. */
const targets = new WeakMap<Socket, ReadTarget>();

/**
 * Lets `source` (a socket made by `connectReusingReadBuffer` or `adoptReusingReadBuffer`; any
 * other is left as it is) emit chunks that are views of memory it reads into again, when it
 * reads in bulk. Its listeners must then keep a chunk only by writing it to `dest`, which holds
 * it until written: anything else they keep past the `'data'` call, they copy. A relay that
 * writes what it reads to one destination, and decodes what it needs while it is called, is
 * such a listener.
 */
export function lendReads(source: Socket, dest: Writable): void {
  const target = targets.get(source);
  if (!target || target.dest !== null) return;
  target.dest = dest;
  source.once('close', () => target.release());
}

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
 * without copying, unless the socket was told to lend its reads (`lendReads`).
 * `pause()`/`resume()` stop and restart reading as usual; `'end'`, `'close'` and `'error'` are
 * the socket's own. Not for a socket that TLS will wrap.
 * @see https://nodejs.org/api/net.html#socketconnectoptions-connectlistener (`onread`)
 */
export function connectReusingReadBuffer(options: NetConnectOpts): Socket {
  const target = new ReadTarget();
  const socket: Socket = connect({ ...options, onread: readIntoReusedBuffer(target, () => socket) });
  targets.set(socket, target);
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
  const target = new ReadTarget();
  const adopted: Socket = new Socket({
    handle,
    allowHalfOpen: socket.allowHalfOpen,
    onread: readIntoReusedBuffer(target, () => adopted),
  } as SocketConstructorOpts);
  targets.set(adopted, target);
  socket.destroy();
  return adopted;
}

/** The `onread` option that reads into `shared` (or a lent region) and emits each read as `'data'` on `socket()`. */
function readIntoReusedBuffer(
  target: ReadTarget,
  socket: () => Socket,
): NonNullable<NetConnectOpts['onread']> {
  let last = 0;
  return {
    // Called once when the socket gets its handle, then after every read for the next one.
    buffer: () => target.next(last),
    callback: (bytes: number): boolean => {
      last = bytes;
      socket().emit('data', target.chunk(bytes));
      // A listener that paused the socket has stopped reading already (net's pause).
      return true;
    },
  };
}
