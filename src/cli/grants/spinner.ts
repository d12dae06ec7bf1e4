import type { IOStreams } from '../io/streams.js';

const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

/** Progress on stderr: an animated line on a terminal, plain lines (each change once) otherwise. */
export interface Progress {
  update(text: string): void;
  /** Clears the animated line (a terminal) so the next output starts clean. */
  stop(): void;
}

export function progress(io: IOStreams): Progress {
  if (!io.stderr.isTTY || io.env.TERM === 'dumb') {
    let last = '';
    return {
      update(text) {
        if (text !== last) io.stderr.write(`${text}\n`);
        last = text;
      },
      stop() {},
    };
  }
  let text = '';
  let i = 0;
  const draw = () => {
    io.stderr.write(`\r\x1b[2K${FRAMES[i++ % FRAMES.length]} ${text}`);
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
