import { spawn } from 'node:child_process';
import { relayServer } from './relay-pipe.js';

/**
 * The bare relay's first hop in the shape of `gatectl exec`: it listens on 127.0.0.1, runs the
 * command as its child with PGHOST/PGPORT pointing at itself, pipes every connection to
 * `host:port` (hop B) and exits with the child's code. Like the CLI under `gatectl exec`, it is
 * a fresh process per run with the client as its child, so the row shows what that shape costs
 * apart from gatectl's own work.
 *
 * Usage: node relay-exec.js <host> <port> <command> [args…]
 */
const [host, portText, command, ...args] = process.argv.slice(2);
const upstreamPort = Number(portText);
if (!host || !Number.isInteger(upstreamPort) || !command) {
  process.stderr.write('usage: relay-exec <upstream host> <upstream port> <command> [args…]\n');
  process.exit(2);
}

const server = relayServer(host, upstreamPort);
server.listen(0, '127.0.0.1', () => {
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  const child = spawn(command, args, {
    stdio: 'inherit',
    env: { ...process.env, PGHOST: '127.0.0.1', PGPORT: String(port) },
  });
  child.on('error', (err) => {
    process.stderr.write(`relay-exec: ${err.message}\n`);
    process.exit(127);
  });
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 128 : 1)));
});
for (const signal of ['SIGTERM', 'SIGINT'] as const) process.on(signal, () => process.exit(0));
