import type { BrokerConfigInput } from '../../broker/config/schema.js';
import { devAuthConfig } from './dev-auth-config.js';
import { type DevCiIssuer, startDevCiIssuer } from './dev-ci-issuer.js';
import { type DevIdp, startDevIdp } from './dev-idp.js';

export interface DevIdentity {
  idp: DevIdp;
  ci: DevCiIssuer;
  /** The broker's `auth` block trusting both. */
  auth: NonNullable<BrokerConfigInput['auth']>;
  close(): Promise<void>;
}

/**
 * Both development identity services for the dev stack. Use the same `dataDir` that
 * `gatectl broker dev-token` reads (by default `join(configDir(env), 'dev')`), so its tokens
 * come from the issuer the dev broker trusts.
 */
export async function startDevIdentity(options: {
  dataDir: string;
  idpPort?: number;
  ciPort?: number;
}): Promise<DevIdentity> {
  const idp = await startDevIdp({
    dataDir: options.dataDir,
    ...(options.idpPort ? { port: options.idpPort } : {}),
  });
  let ci: DevCiIssuer;
  try {
    ci = await startDevCiIssuer({
      dataDir: options.dataDir,
      ...(options.ciPort ? { port: options.ciPort } : {}),
    });
  } catch (err) {
    await idp.close();
    throw err;
  }
  return {
    idp,
    ci,
    auth: devAuthConfig(idp, ci),
    async close() {
      await ci.close();
      await idp.close();
    },
  };
}
