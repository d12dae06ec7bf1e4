import type { IOStreams } from '../io/streams.js';

const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

/** Progress on stderr: an animated line on a terminal, plain lines (each change once) otherwise. */
export interface Progress {
  /** A function is re-evaluated on every frame (a countdown); plain lines print each distinct text once. */
  update(text: string | (() => string)): void;
  /** Clears the animated line (a terminal) so the next output starts clean. */
  stop(): void;
}

export function progress(io: IOStreams): Progress {
  if (!io.stderr.isTTY || io.env.TERM === 'dumb') {
    let last = '';
    return {
      update(t) {
        const text = typeof t === 'function' ? t() : t;
        if (text !== last) io.stderr.write(`${text}\n`);
        last = text;
      },
      stop() {},
    };
  }
  let text: string | (() => string) = '';
  let i = 0;
  const draw = () => {
    const line = typeof text === 'function' ? text() : text;
    io.stderr.write(`\r\x1b[2K${FRAMES[i++ % FRAMES.length]} ${line}`);
  };
  const timer = setInterval(draw, 100);
  timer.unref();
  return {
    update(t) {
      text = t;
      draw();
    },
    stop() {
      clearInterval(timer);
      io.stderr.write('\r\x1b[2K');
    },
  };
}
