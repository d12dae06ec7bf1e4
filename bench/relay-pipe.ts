import { createConnection, createServer, type Server } from 'node:net';

/**
 * A bare relay hop: a TCP server whose every connection is piped to `host:port`, nothing else.
 * Not listening yet; the caller picks the port.
 */
export function relayServer(host: string, port: number): Server {
  return createServer({ noDelay: true }, (client) => {
    const upstream = createConnection({ host, port, noDelay: true });
    client.pipe(upstream);
    upstream.pipe(client);
    const close = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', close);
    upstream.on('error', close);
    client.on('close', close);
    upstream.on('close', close);
  });
}
