import { ByteWriter } from './byte-writer.js';
import { Frontend, RequestCode } from './protocol.js';

/** Encoders for the messages the broker sends to the target (as a client would). */

export function startupMessage(params: ReadonlyMap<string, string>): Buffer {
  const w = new ByteWriter().int32(RequestCode.protocol3);
  for (const [k, v] of params) w.cstring(k).cstring(v);
  return w.int8(0).packet();
}

export function sslRequest(): Buffer {
  return new ByteWriter(4).int32(RequestCode.ssl).packet();
}

export function cancelRequest(pid: number, key: Buffer): Buffer {
  return new ByteWriter(12).int32(RequestCode.cancel).int32(pid).bytes(key).packet();
}

export function passwordMessage(password: string): Buffer {
  return new ByteWriter().cstring(password).message(Frontend.password);
}

export function saslInitialResponse(mechanism: string, data: string): Buffer {
  const bytes = Buffer.from(data);
  return new ByteWriter().cstring(mechanism).int32(bytes.length).bytes(bytes).message(Frontend.password);
}

export function saslResponse(data: string): Buffer {
  return new ByteWriter().bytes(Buffer.from(data)).message(Frontend.password);
}

export function terminate(): Buffer {
  return new ByteWriter(0).message(Frontend.terminate);
}
