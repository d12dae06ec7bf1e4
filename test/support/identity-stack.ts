import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { devAuthConfig } from '../../src/auth/dev/dev-auth-config.js';
import { type DevCiIssuer, startDevCiIssuer } from '../../src/auth/dev/dev-ci-issuer.js';
import { type DevIdp, startDevIdp } from '../../src/auth/dev/dev-idp.js';
import type { BrokerConfigInput } from '../../src/broker/config/schema.js';
import { startTestBroker, type TestBroker } from './broker.js';

export interface IdentityStack {
  idp: DevIdp;
  ci: DevCiIssuer;
  broker: TestBroker;
  dataDir: string;
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** The dev IdP and CI issuer on free loopback ports, and a real broker that trusts both. */
export async function startIdentityStack(
  options: { sessionTtl?: string; idTokenTtl?: number; auth?: (base: NonNullable<BrokerConfigInput['auth']>) => BrokerConfigInput['auth'] } = {},
): Promise<IdentityStack> {
  const dataDir = mkdtempSync(join(tmpdir(), 'gatectl-idstack-'));
  const idp = await startDevIdp({ dataDir, port: 0, ...(options.idTokenTtl ? { idTokenTtl: options.idTokenTtl } : {}) });
  const ci = await startDevCiIssuer({ dataDir, port: 0 });
  const base = devAuthConfig(idp, ci, options.sessionTtl ? { sessionTtl: options.sessionTtl } : {});
  const broker = await startTestBroker({ auth: options.auth ? options.auth(base) : base });
  const close = async () => {
    await broker.close();
    await ci.close();
    await idp.close();
    rmSync(dataDir, { recursive: true, force: true });
  };
  return { idp, ci, broker, dataDir, close, [Symbol.asyncDispose]: close };
}
