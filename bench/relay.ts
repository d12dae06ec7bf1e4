import { join } from 'node:path';
import { spawnTracked, waitForLine } from './proc.js';

/**
 * The bare two-hop relay: client → hop A → hop B → PostgreSQL, each hop its own Node process
 * doing plain `net.Socket` piping. Returns the port clients connect to.
 */
export async function startRelayChain(upstream: {
  host: string;
  port: number;
}): Promise<{ port: number; hopB: number; pids: { hopA: number; hopB: number } }> {
  const hopB = await startHop(upstream.host, upstream.port);
  const hopA = await startHop('127.0.0.1', hopB.port);
  return { port: hopA.port, hopB: hopB.port, pids: { hopA: hopA.pid, hopB: hopB.pid } };
}

/** The command line that runs `command` behind an exec-shaped first hop (bench/relay-exec.ts) into hop B. */
export function relayExecCommand(hopB: number, command: string[]): string[] {
  return [join(import.meta.dirname, 'relay-exec.js'), '127.0.0.1', String(hopB), ...command];
}

async function startHop(host: string, port: number): Promise<{ port: number; pid: number }> {
  const child = spawnTracked(process.execPath, [
    join(import.meta.dirname, 'relay-hop.js'),
    host,
    String(port),
  ]);
  const m = await waitForLine(child, /^listening (\d+)$/, 10_000);
  return { port: Number(m[1]), pid: child.pid! };
}
