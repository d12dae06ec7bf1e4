import type { TunnelCreated } from '../../broker/tunnels/tunnel.types.js';
import type { BrokerClient } from '../broker-client.js';

/** Opens a tunnel at the broker for the caller's active grant; the secret in the answer is shown once. */
export function openTunnel(client: BrokerClient, target: string): Promise<TunnelCreated> {
  return client.request<TunnelCreated>('POST', '/v1/tunnels', { target });
}

/** Tells the broker the tunnel is no longer used; best effort, bounded in time. */
export async function closeTunnelAtBroker(client: BrokerClient, id: string): Promise<void> {
  await client
    .request<void>('DELETE', `/v1/tunnels/${encodeURIComponent(id)}`, undefined, { timeoutMs: 2000 })
    .catch(() => {});
}
