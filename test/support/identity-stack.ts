import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { devAuthConfig } from '../../src/auth/dev/dev-auth-config.js';
import { type DevCiIssuer, startDevCiIssuer } from '../../src/auth/dev/dev-ci-issuer.js';
import { type DevIdp, startDevIdp } from '../../src/auth/dev/dev-idp.js';
import type { BrokerConfigInput } from '../../src/broker/config/schema.js';
import { createLogger } from '../../src/broker/server.js';
import { startTestBroker, type TestBroker } from './broker.js';
import { type CliResult, collect, spawnCli, waitForStderr } from './cli.js';
import { TestBrowser } from './identity-browser.js';

export interface IdentityStack {
  idp: DevIdp;
  ci: DevCiIssuer;
  broker: TestBroker;
  dataDir: string;
  /** Everything the broker logged (debug level), to search for leaked tokens. */
  logs(): string;
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** The dev IdP and CI issuer on free loopback ports, and a real broker that trusts both. */
export async function startIdentityStack(
  options: {
    sessionTtl?: string;
    idTokenTtl?: number;
    auth?: (base: NonNullable<BrokerConfigInput['auth']>) => BrokerConfigInput['auth'];
  } = {},
): Promise<IdentityStack> {
  const dataDir = mkdtempSync(join(tmpdir(), 'gatectl-idstack-'));
  const idp = await startDevIdp({
    dataDir,
    port: 0,
    ...(options.idTokenTtl ? { idTokenTtl: options.idTokenTtl } : {}),
  });
  const ci = await startDevCiIssuer({ dataDir, port: 0 });
  const base = devAuthConfig(idp, ci, options.sessionTtl ? { sessionTtl: options.sessionTtl } : {});
  let logs = '';
  const sink = new Writable({
    write(chunk, _enc, cb) {
      logs += String(chunk);
      cb();
    },
  });
  const broker = await startTestBroker(
    { auth: options.auth ? options.auth(base) : base },
    { logger: createLogger('debug', sink) },
  );
  const close = async () => {
    await broker.close();
    await ci.close();
    await idp.close();
    rmSync(dataDir, { recursive: true, force: true });
  };
  return { idp, ci, broker, dataDir, logs: () => logs, close, [Symbol.asyncDispose]: close };
}

/**
 * Runs the real `gatectl login --broker …` and completes the device verification in the IdP's
 * pages as a person would (type the code, confirm, pick the user, allow).
 */
export async function deviceLogin(
  stack: IdentityStack,
  env: NodeJS.ProcessEnv,
  user: 'Alice Example' | 'Bob Example' | 'Carol Example' = 'Alice Example',
): Promise<CliResult> {
  const child = spawnCli(['login', '--broker', stack.broker.url], { env });
  const done = collect(child, undefined, 60_000);
  const [, code, url] = await waitForStderr(
    child,
    /First copy your one-time code: ([A-Z0-9]{4}-[A-Z0-9]{4})\s+Open this URL to continue in your web browser: (\S+)/,
  );
  const browser = new TestBrowser();
  let page = await browser.get(url!);
  page = await browser.submit(page, { form: 'op.deviceInputForm', fill: { user_code: code! } });
  page = await browser.submit(page, { form: 'op.deviceConfirmForm', button: 'Continue' });
  page = await browser.submit(page, { button: user });
  page = await browser.submit(page, { button: 'Confirm' });
  if (!page.html.includes('You are signed in')) throw new Error(`device verification failed:\n${page.html}`);
  return done;
}
