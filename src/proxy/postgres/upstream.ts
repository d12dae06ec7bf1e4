import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { isIP, connect as netConnect, type Socket } from 'node:net';
import { checkServerIdentity, type TLSSocket, connect as tlsConnect } from 'node:tls';
import type { PostgresTargetConfig } from '../../broker/config/schema.js';
import { connectReusingReadBuffer } from '../../lib/net/reused-read-buffer.js';
import type { Secret } from '../../lib/secret.js';
import { ByteReader } from './byte-reader.js';
import type { UpstreamCancelKey } from './cancel-registry.js';
import { decodeErrorFields } from './decode.js';
import { UpstreamError } from './errors.js';
import { FrameReader, PeerClosedError } from './frame-reader.js';
import { MessageFramer } from './framer.js';
import {
  cancelRequest,
  passwordMessage,
  saslInitialResponse,
  saslResponse,
  sslRequest,
  startupMessage,
} from './frontend-messages.js';
import { AuthCode, Backend, DEFAULT_MAX_MESSAGE_SIZE } from './protocol.js';
import { SCRAM_MECHANISM, ScramError } from './scram.js';
import { ScramClient } from './scram-client.js';

const CONNECT_TIMEOUT_MS = 10_000;

export type UpstreamSocket = Socket | TLSSocket;

export function splitAddress(address: string): { host: string; port: number } {
  const colon = address.lastIndexOf(':');
  let host = address.slice(0, colon);
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  return { host, port: Number(address.slice(colon + 1)) };
}

function withTimeout<T>(p: Promise<T>, ms: number, onTimeout: () => void, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      onTimeout();
      reject(new UpstreamError('UPSTREAM_CONNECT', `${what} timed out after ${ms} ms`));
    }, ms);
    p.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e) => {
        clearTimeout(timer);
        reject(e);
      },
    );
  });
}

/**
 * Opens TCP to the target and, unless `tls.mode` is `disable`, negotiates TLS the PostgreSQL
 * way (SSLRequest, one-byte answer, then the TLS handshake on the same socket).
 * `require` encrypts without verifying; `verify-full` checks the chain against `ca_file`
 * (or the system roots) and the name against `server_name` (or the address's host).
 */
export async function openUpstreamSocket(target: PostgresTargetConfig): Promise<UpstreamSocket> {
  const { host, port } = splitAddress(target.address);
  // A plaintext session is read into a reused buffer; a socket TLS will wrap reads normally.
  const socket =
    target.tls.mode === 'disable'
      ? connectReusingReadBuffer({ host, port, noDelay: true })
      : netConnect({ host, port, noDelay: true });
  await withTimeout(
    new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', (err) =>
        reject(new UpstreamError('UPSTREAM_CONNECT', `cannot connect to ${target.address}`, { cause: err })),
      );
    }),
    CONNECT_TIMEOUT_MS,
    () => socket.destroy(),
    `connecting to ${target.address}`,
  );
  socket.removeAllListeners('error');
  if (target.tls.mode === 'disable') return socket;

  socket.write(sslRequest());
  const answer = await withTimeout(
    new Promise<Buffer>((resolve, reject) => {
      socket.once('data', resolve);
      socket.once('error', (err) =>
        reject(new UpstreamError('UPSTREAM_TLS', 'SSLRequest failed', { cause: err })),
      );
      socket.once('close', () =>
        reject(new UpstreamError('UPSTREAM_TLS', 'target closed during SSLRequest')),
      );
    }),
    CONNECT_TIMEOUT_MS,
    () => socket.destroy(),
    'SSLRequest',
  );
  socket.removeAllListeners('error');
  socket.removeAllListeners('close');
  socket.pause();
  // Anything after the 'S' would be plaintext injected before the handshake (CVE-2021-23214).
  if (answer.length !== 1 || answer[0] !== 0x53) {
    socket.destroy();
    throw new UpstreamError(
      'UPSTREAM_TLS',
      `target ${target.address} does not accept TLS (tls.mode ${target.tls.mode})`,
    );
  }
  const name = target.tls.server_name ?? host;
  const verify = target.tls.mode === 'verify-full';
  const ca = verify && target.tls.ca_file ? await readFile(target.tls.ca_file) : undefined;
  const secure = tlsConnect({
    socket,
    servername: isIP(name) ? undefined : name,
    rejectUnauthorized: verify,
    ca,
    checkServerIdentity: verify ? (_host, cert) => checkServerIdentity(name, cert) : () => undefined,
  });
  await withTimeout(
    new Promise<void>((resolve, reject) => {
      secure.once('secureConnect', resolve);
      secure.once('error', (err) =>
        reject(
          new UpstreamError('UPSTREAM_TLS', `TLS with ${target.address} failed: ${err.message}`, {
            cause: err,
          }),
        ),
      );
    }),
    CONNECT_TIMEOUT_MS,
    () => secure.destroy(),
    'TLS handshake',
  );
  secure.removeAllListeners('error');
  secure.setNoDelay(true);
  return secure;
}

export interface UpstreamSession {
  socket: UpstreamSocket;
  /** Bytes the target sent after its first ReadyForQuery (normally none). */
  leftover: Buffer;
  /** ParameterStatus and NoticeResponse messages of the startup, raw, to relay to the client. */
  startupMessages: Buffer[];
  /** Key needed to cancel a query on this backend. */
  cancelKey: UpstreamCancelKey;
  transactionStatus: number;
}

export interface ConnectUpstreamOptions {
  target: PostgresTargetConfig;
  password: Secret | undefined;
  /** Startup parameters passed on from the client (application_name and other safe ones). */
  params: ReadonlyMap<string, string>;
  maxMessageSize?: number;
}

function md5Hex(data: Buffer | string): string {
  return createHash('md5').update(data).digest('hex');
}

function rebuild(type: number, body: Buffer): Buffer {
  const out = Buffer.allocUnsafe(5 + body.length);
  out[0] = type;
  out.writeInt32BE(4 + body.length, 1);
  body.copy(out, 5);
  return out;
}

/** Logs in to the target as the broker-held user and reads up to the first ReadyForQuery. */
export async function connectUpstream(options: ConnectUpstreamOptions): Promise<UpstreamSession> {
  const { target } = options;
  const socket = await openUpstreamSocket(target);
  // Without a listener an 'error' between the handshake steps would crash the broker.
  const swallow = () => {};
  socket.on('error', swallow);
  const reader = new FrameReader(
    socket,
    new MessageFramer({ maxMessageSize: options.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE }),
  );
  try {
    const params = new Map(options.params);
    params.set('user', target.credentials.username);
    params.set('database', target.database);
    socket.write(startupMessage(params));

    const needPassword = (): string => {
      const p = options.password?.reveal();
      if (p === undefined)
        throw new UpstreamError('UPSTREAM_AUTH', 'target asks for a password and none is configured');
      return p;
    };
    let scram: ScramClient | null = null;
    const startupMessages: Buffer[] = [];
    let cancelKey: UpstreamCancelKey | null = null;
    for (;;) {
      const { type, body } = await reader.next();
      if (type === Backend.errorResponse) {
        const fields = decodeErrorFields(body);
        const code = fields.get('C') ?? 'XX000';
        throw new UpstreamError(
          code.startsWith('28') ? 'UPSTREAM_AUTH' : 'UPSTREAM_REJECTED',
          `target refused the login: ${code} ${fields.get('M') ?? ''}`,
          { sqlstate: code },
        );
      }
      if (type === Backend.authentication) {
        const r = new ByteReader(body);
        const code = r.int32();
        switch (code) {
          case AuthCode.ok:
            if (scram) throw new UpstreamError('UPSTREAM_AUTH', 'target skipped the SCRAM server proof');
            break;
          case AuthCode.cleartextPassword:
            socket.write(passwordMessage(needPassword()));
            break;
          case AuthCode.md5Password: {
            const salt = r.bytes(4);
            const inner = md5Hex(needPassword() + target.credentials.username);
            socket.write(passwordMessage(`md5${md5Hex(Buffer.concat([Buffer.from(inner), salt]))}`));
            break;
          }
          case AuthCode.sasl: {
            const mechanisms: string[] = [];
            while (r.remaining > 1) mechanisms.push(r.cstring());
            if (!mechanisms.includes(SCRAM_MECHANISM)) {
              throw new UpstreamError(
                'UPSTREAM_AUTH',
                `target offers no supported SASL mechanism (${mechanisms.join(', ')})`,
              );
            }
            scram = new ScramClient(needPassword());
            socket.write(saslInitialResponse(SCRAM_MECHANISM, scram.first()));
            break;
          }
          case AuthCode.saslContinue:
            if (!scram) throw new UpstreamError('UPSTREAM_PROTOCOL', 'SASLContinue without SASL');
            socket.write(saslResponse(await scram.final(r.rest().toString('utf8'))));
            break;
          case AuthCode.saslFinal:
            if (!scram) throw new UpstreamError('UPSTREAM_PROTOCOL', 'SASLFinal without SASL');
            scram.verify(r.rest().toString('utf8'));
            scram = null;
            break;
          default:
            throw new UpstreamError(
              'UPSTREAM_AUTH',
              `target asks for unsupported authentication (code ${code})`,
            );
        }
        continue;
      }
      if (type === Backend.parameterStatus || type === Backend.noticeResponse) {
        startupMessages.push(rebuild(type, body));
      } else if (type === Backend.backendKeyData) {
        const r = new ByteReader(body);
        const pid = r.int32();
        // A buffer of its own: a small Buffer.from is a slice of Node's shared pool, and one
        // kept for the whole session would keep that pool's 8 KiB alive with it.
        const rest = r.rest();
        const key = Buffer.alloc(rest.length);
        rest.copy(key);
        cancelKey = { target, pid, key };
      } else if (type === Backend.readyForQuery) {
        if (!cancelKey) throw new UpstreamError('UPSTREAM_PROTOCOL', 'target sent no BackendKeyData');
        const leftover = reader.release();
        socket.off('error', swallow);
        return { socket, leftover, startupMessages, cancelKey, transactionStatus: body[0] ?? 0x49 };
      } else if (type !== Backend.negotiateProtocolVersion) {
        throw new UpstreamError(
          'UPSTREAM_PROTOCOL',
          `unexpected message ${String.fromCharCode(type)} during startup`,
        );
      }
    }
  } catch (err) {
    reader.release();
    socket.destroy();
    if (err instanceof UpstreamError) throw err;
    if (err instanceof ScramError) throw new UpstreamError('UPSTREAM_AUTH', err.message, { cause: err });
    if (err instanceof PeerClosedError) {
      throw new UpstreamError('UPSTREAM_CONNECT', 'target closed the connection during startup', {
        cause: err,
      });
    }
    throw new UpstreamError('UPSTREAM_PROTOCOL', 'target broke the protocol during startup', { cause: err });
  }
}

/** Sends a CancelRequest for `key` on a new connection (TLS per target), as PostgreSQL expects. */
export async function sendUpstreamCancel(key: UpstreamCancelKey): Promise<void> {
  const socket = await openUpstreamSocket(key.target);
  await new Promise<void>((resolve) => {
    const timer = setTimeout(() => socket.destroy(), CONNECT_TIMEOUT_MS);
    socket.on('error', () => {});
    socket.on('close', () => {
      clearTimeout(timer);
      resolve();
    });
    socket.resume();
    socket.end(cancelRequest(key.pid, key.key));
  });
}
