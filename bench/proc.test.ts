import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { descendantPids } from './cpu.js';
import { killTree, spawnTracked, waitForLine } from './proc.js';

/** Session id and state of a process from /proc/<pid>/stat; null once it is gone. */
function procState(pid: number): { session: number; state: string } | null {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
    // After the name: state(3) ppid(4) pgrp(5) session(6), numbered as in proc(5).
    return { state: rest[0]!, session: Number(rest[3]) };
  } catch {
    return null;
  }
}

const gone = (pid: number) => {
  const s = procState(pid);
  return s === null || s.state === 'Z';
};

describe('harness processes', () => {
  it('run in the harness’s session and are stopped with everything they started', async () => {
    const child = spawnTracked('sh', ['-c', 'sleep 60 & echo "started $!"; wait']);
    const grandchild = Number((await waitForLine(child, /^started (\d+)$/, 5000))[1]);
    const exited = new Promise((resolve) => child.once('exit', resolve));

    // One session, so that autogroup gives every process of every path the same share.
    const own = procState(process.pid)!.session;
    expect(procState(child.pid!)?.session).toBe(own);
    expect(procState(grandchild)?.session).toBe(own);
    expect(descendantPids(child.pid!)).toContain(grandchild);

    killTree(child, 'SIGTERM');
    await exited;
    const deadline = Date.now() + 5000;
    while (!gone(grandchild) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(gone(grandchild)).toBe(true);
  });

  it('get each signal once, so a graceful shutdown is not cut short by a second SIGTERM', async () => {
    // Like `gatectl`: the first SIGTERM starts a shutdown, a second one would end it at once.
    const script =
      "let n = 0; process.on('SIGTERM', () => { n++; if (n > 1) process.exit(9); setTimeout(() => process.exit(0), 300); });" +
      "console.log('ready'); setInterval(() => {}, 1000);";
    const child = spawnTracked(process.execPath, ['-e', script]);
    await waitForLine(child, /^ready$/, 5000);
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    killTree(child, 'SIGTERM');
    await new Promise((r) => setTimeout(r, 50));
    killTree(child, 'SIGTERM');
    expect(await exited).toBe(0);
  });
});
