import { spawn } from 'node:child_process';

/**
 * Runs a command and prints its wall time as `bench-timed {"wallMs":…,"code":…}` on stdout, then
 * exits with the command's code. Used inside `gatectl exec` so that a timing covers the client's
 * work through the tunnel, not the tunnel's start-up.
 *
 * Usage: node timed.js <command> [args…]
 */
const [command, ...args] = process.argv.slice(2);
if (!command) {
  process.stderr.write('usage: timed <command> [args…]\n');
  process.exit(2);
}
const started = process.hrtime.bigint();
const child = spawn(command, args, { stdio: 'inherit' });
child.on('error', (err) => {
  process.stderr.write(`timed: cannot run ${command}: ${err.message}\n`);
  process.exit(127);
});
child.on('exit', (code, signal) => {
  const wallMs = Number(process.hrtime.bigint() - started) / 1e6;
  process.stdout.write(`bench-timed ${JSON.stringify({ wallMs, code: code ?? null, signal })}\n`);
  process.exit(code ?? 1);
});
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => child.kill(signal));
