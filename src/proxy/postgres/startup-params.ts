/**
 * Startup parameters a client may pass on to the target. `user` and `database` always come from
 * the target's configuration; `options` (arbitrary `-c` settings), `replication` and protocol
 * extensions (`_pq_.*`) are dropped so a client cannot widen what the broker-held role does
 * at login.
 */
const PASSED_ON = new Set([
  'application_name',
  'client_encoding',
  'datestyle',
  'timezone',
  'intervalstyle',
  'extra_float_digits',
  'search_path',
  'statement_timeout',
  'lock_timeout',
  'idle_in_transaction_session_timeout',
]);

export function upstreamStartupParams(client: ReadonlyMap<string, string>): Map<string, string> {
  const out = new Map<string, string>();
  for (const [k, v] of client) if (PASSED_ON.has(k.toLowerCase())) out.set(k, v);
  return out;
}

/** Protocol extension options (`_pq_.…`) the client asked for; the broker supports none. */
export function protocolOptions(client: ReadonlyMap<string, string>): string[] {
  return [...client.keys()].filter((k) => k.startsWith('_pq_.'));
}
