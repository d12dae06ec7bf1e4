import type { BrokerConfigInput } from '../../broker/config/schema.js';
import { DEV_CI_GROUPS_CLAIM, type DevCiIssuer } from './dev-ci-issuer.js';
import type { DevIdp } from './dev-idp.js';

/**
 * The `auth` block a development broker uses to trust the dev IdP (humans, device flow) and the
 * dev CI issuer (`gatectl broker dev-token`). The rules show GitHub-style mapping: a job on `main`
 * in the `production` environment becomes a deployer.
 */
export function devAuthConfig(
  idp: Pick<DevIdp, 'issuer' | 'clientId' | 'scopes'>,
  ci: Pick<DevCiIssuer, 'issuer' | 'audience'>,
  options: { sessionTtl?: string } = {},
): NonNullable<BrokerConfigInput['auth']> {
  return {
    oidc: {
      issuer: idp.issuer,
      client_id: idp.clientId,
      scopes: idp.scopes,
      identity_claim: 'email',
      groups_claim: 'groups',
    },
    machine_issuers: [
      {
        issuer: ci.issuer,
        audience: ci.audience,
        identity: 'ci:{repository}',
        groups_claim: DEV_CI_GROUPS_CLAIM,
        groups: [{ when: { ref: 'refs/heads/main', environment: 'production' }, add: ['deployers'] }],
      },
    ],
    ...(options.sessionTtl ? { session: { ttl: options.sessionTtl } } : {}),
  };
}
