import { render } from 'ink';
import type { BrokerClient } from '../cli/broker-client.js';
import type { IOStreams } from '../cli/io/streams.js';
import { ReviewApp } from './ReviewApp.js';
import { brokerReviewApi } from './review-api.js';

/** Runs the review UI on the terminal until the user quits; loaded lazily by `gatectl review` only. */
export async function runReview(client: BrokerClient, io: IOStreams, signal: AbortSignal): Promise<void> {
  const app = render(<ReviewApp api={brokerReviewApi(client)} />, {
    stdin: io.stdin as NodeJS.ReadStream,
    stdout: io.stdout as NodeJS.WriteStream,
    stderr: io.stderr as NodeJS.WriteStream,
    exitOnCtrlC: true,
  });
  const onAbort = () => app.unmount();
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    await app.waitUntilExit();
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}
