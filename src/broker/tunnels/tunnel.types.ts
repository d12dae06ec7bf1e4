/** A tunnel as the HTTP API returns it; field names are stable. */
export interface TunnelView {
  id: string;
  target: string;
  grant_id: string;
  /** When the grant, and with it the tunnel, ends. */
  expires_at: string;
  /** Database name the local client should ask for. */
  database: string;
  /** User name the local client should send; a label, not an upstream credential. */
  user: string;
}

/** Body of `POST /v1/tunnels`: the one-time secret is returned here and nowhere else. */
export interface TunnelCreated {
  tunnel: TunnelView;
  secret: string;
}

/** User name a tunnel's local clients send; the broker authenticates upstream with its own. */
export const TUNNEL_USER = 'gatectl';

/** Header in which the CLI reports the local client's address (informational). */
export const CLIENT_ADDR_HEADER = 'x-gatectl-client-addr';
