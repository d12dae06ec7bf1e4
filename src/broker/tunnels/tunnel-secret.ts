import { randomBytes } from 'node:crypto';

/**
 * A tunnel's one-time local secret: 256 random bits, base64url so it survives URIs, service
 * files and environment variables without quoting. Only its SCRAM verifier is stored.
 */
export function newTunnelSecret(): string {
  return randomBytes(32).toString('base64url');
}
