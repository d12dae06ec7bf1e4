import type { IOStreams } from '../io/streams.js';
import type { LocalTunnel, TunnelEvent, TunnelStats } from './local-tunnel.js';

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}

/** What a tunnel carried, for the line printed when it closes. */
export function tunnelSummary(s: TunnelStats): string {
  return `${s.total} connection${s.total === 1 ? '' : 's'}, ↑ ${formatBytes(s.bytesUp)} ↓ ${formatBytes(s.bytesDown)}`;
}

/**
 * The tunnel's state on stderr: one line redrawn in place on a terminal, plain lines per
 * connection otherwise (logs, CI).
 */
export class StatusLine {
  readonly #io: IOStreams;
  readonly #tunnel: LocalTunnel;
  readonly #label: string;
  readonly #tty: boolean;
  #timer: NodeJS.Timeout | undefined;
  #drawn = false;

  constructor(io: IOStreams, tunnel: LocalTunnel, label: string) {
    this.#io = io;
    this.#tunnel = tunnel;
    this.#label = label;
    this.#tty = Boolean(io.stderr.isTTY) && io.env.TERM !== 'dumb';
    tunnel.on((e) => this.#event(e));
    if (this.#tty) {
      this.#timer = setInterval(() => this.#draw(), 1000);
      this.#timer.unref();
      this.#draw();
    }
  }

  #line(): string {
    const s = this.#tunnel.stats;
    return `${this.#label} · ${s.open} open (${s.total} total) · ↑ ${formatBytes(s.bytesUp)} ↓ ${formatBytes(s.bytesDown)}`;
  }

  #draw(): void {
    this.#io.stderr.write(`\r\x1b[2K${this.#line()}`);
    this.#drawn = true;
  }

  /** Prints a message above the status line. */
  print(message: string): void {
    if (this.#tty && this.#drawn) this.#io.stderr.write('\r\x1b[2K');
    this.#io.stderr.write(`${message}\n`);
    if (this.#tty) this.#draw();
  }

  #event(e: TunnelEvent): void {
    if (e.kind === 'refused') this.print(`connection ${e.id} refused by the broker: ${e.message}`);
    else if (e.kind === 'error') this.print(`connection ${e.id} failed: ${e.message}`);
    else if (this.#tty) this.#draw();
    else if (e.kind === 'open') this.print(`connection ${e.id} opened from ${e.from}`);
    else this.print(`connection ${e.id} closed (↑ ${formatBytes(e.bytesUp)} ↓ ${formatBytes(e.bytesDown)})`);
  }

  stop(): void {
    clearInterval(this.#timer);
    if (this.#tty && this.#drawn) this.#io.stderr.write('\r\x1b[2K');
  }
}
