import { relayServer } from './relay-pipe.js';

/**
 * One hop of the bare relay: accepts TCP on 127.0.0.1 (a free port) and pipes every connection to
 * `host:port`, nothing else. Two of these in a row are the floor the gatectl data path is held to
 * (client → CLI → broker → PostgreSQL is two hops of Node as well).
 *
 * Usage: node relay-hop.js <upstream host> <upstream port>; prints `listening <port>` when ready.
 */
const [host, portText] = process.argv.slice(2);
const upstreamPort = Number(portText);
if (!host || !Number.isInteger(upstreamPort)) {
  process.stderr.write('usage: relay-hop <upstream host> <upstream port>\n');
  process.exit(2);
}

const server = relayServer(host, upstreamPort);
server.listen(0, '127.0.0.1', () => {
  const addr = server.address();
  process.stdout.write(`listening ${typeof addr === 'object' && addr ? addr.port : 0}\n`);
});
for (const signal of ['SIGTERM', 'SIGINT'] as const) process.on(signal, () => process.exit(0));
