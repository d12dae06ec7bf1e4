import {
  authenticationOk,
  authenticationSasl,
  authenticationSaslContinue,
  authenticationSaslFinal,
  negotiateProtocolVersion,
} from './backend-messages.js';
import { decodeSaslInitialResponse, decodeStartupPacket } from './decode.js';
import { PgClientError, ProtocolError } from './errors.js';
import type { FrameReader } from './frame-reader.js';
import { Frontend } from './protocol.js';
import { SCRAM_MECHANISM, ScramError, ScramServer, type ScramVerifier } from './scram.js';
import { protocolOptions } from './startup-params.js';

export type ClientHello =
  | { kind: 'cancel'; pid: number; key: Buffer }
  | { kind: 'startup'; params: Map<string, string> };

const NO = Buffer.from('N');

/**
 * Reads the client's first packet. SSLRequest and GSSENCRequest are declined with `N` (the
 * client's hop to the broker is loopback to the CLI, then the CLI's own TLS), after which the
 * client sends its StartupMessage or CancelRequest in the clear.
 * @see https://www.postgresql.org/docs/current/protocol-flow.html#PROTOCOL-FLOW-SSL
 */
export async function readClientHello(reader: FrameReader, write: (b: Buffer) => void): Promise<ClientHello> {
  for (let negotiations = 0; ; negotiations++) {
    reader.framer.untyped = true;
    const { body } = await reader.next();
    const packet = decodeStartupPacket(body);
    if (packet.kind === 'ssl' || packet.kind === 'gssenc') {
      if (negotiations >= 2) throw new PgClientError('08P01', 'too many encryption negotiations');
      write(NO);
      continue;
    }
    if (packet.kind === 'cancel') return packet;
    const unsupported = protocolOptions(packet.params);
    if (packet.minor > 0 || unsupported.length > 0) write(negotiateProtocolVersion(0, unsupported));
    return { kind: 'startup', params: packet.params };
  }
}

/**
 * SCRAM-SHA-256 against the tunnel's verifier, server side. A wrong secret gets 28P01 with
 * PostgreSQL's own wording; anything else malformed is a protocol violation.
 */
export async function authenticateClient(
  reader: FrameReader,
  write: (b: Buffer) => void,
  verifier: ScramVerifier,
  user: string,
): Promise<void> {
  const failed = () => new PgClientError('28P01', `password authentication failed for user "${user}"`);
  write(authenticationSasl([SCRAM_MECHANISM]));
  const initial = await reader.next();
  if (initial.type !== Frontend.password) throw new PgClientError('08P01', 'expected SASL response');
  const { mechanism, data } = decodeSaslInitialResponse(initial.body);
  if (mechanism !== SCRAM_MECHANISM) {
    throw new PgClientError('28000', 'client selected an invalid SASL authentication mechanism');
  }
  const server = new ScramServer(verifier);
  try {
    write(authenticationSaslContinue(server.first(data)));
    const response = await reader.next();
    if (response.type !== Frontend.password) throw new PgClientError('08P01', 'expected SASL response');
    const serverFinal = server.final(response.body.toString('utf8'));
    write(Buffer.concat([authenticationSaslFinal(serverFinal), authenticationOk()]));
  } catch (err) {
    if (err instanceof ScramError) {
      if (err.code === 'proof') throw failed();
      throw new PgClientError('08P01', err.message);
    }
    if (err instanceof ProtocolError) throw new PgClientError('08P01', 'malformed SASL message');
    throw err;
  }
}
