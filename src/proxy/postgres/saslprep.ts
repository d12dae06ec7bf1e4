import {
  L_CAT,
  MAPPED_TO_NOTHING,
  NON_ASCII_SPACE,
  PROHIBITED,
  RAND_AL_CAT,
  UNASSIGNED,
} from './saslprep-tables.js';

/** Whether `cp` falls in one of the sorted inclusive ranges of `table` (binary search). */
function inTable(cp: number, table: readonly number[]): boolean {
  let lo = 0;
  let hi = table.length / 2 - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (cp < table[2 * mid]!) hi = mid - 1;
    else if (cp > table[2 * mid + 1]!) lo = mid + 1;
    else return true;
  }
  return false;
}

/** A lone surrogate cannot be encoded as UTF-8: the equivalent of invalid UTF-8 input. */
const LONE_SURROGATE = /\p{Surrogate}/u;

/**
 * SASLprep (RFC 4013, the stringprep profile of RFC 3454) as PostgreSQL implements it, or null
 * when the profile rejects the string (a prohibited or unassigned character, a bidirectional
 * mix, nothing left after mapping, invalid UTF-8).
 *
 * Like PostgreSQL's `pg_saslprep`, the prohibition and bidirectional checks look at the string
 * after mapping and before NFKC normalisation: the verifier on the server was made that way,
 * so a stricter reading of the RFC would compute a different key.
 * @see https://www.rfc-editor.org/rfc/rfc4013#section-2
 */
export function saslprep(input: string): string | null {
  if (LONE_SURROGATE.test(input)) return null;
  // 1. Map: non-ASCII spaces to SPACE, "commonly mapped to nothing" removed (RFC 4013 §2.1).
  const mapped: number[] = [];
  for (const ch of input) {
    const cp = ch.codePointAt(0)!;
    if (inTable(cp, NON_ASCII_SPACE)) mapped.push(0x20);
    else if (!inTable(cp, MAPPED_TO_NOTHING)) mapped.push(cp);
  }
  if (mapped.length === 0) return null;
  // 3. Prohibit (RFC 4013 §2.3, §2.5): on the mapped characters, as PostgreSQL does.
  for (const cp of mapped) if (inTable(cp, PROHIBITED) || inTable(cp, UNASSIGNED)) return null;
  // 4. Bidirectional characters (RFC 3454 §6): with any R/AL character, no L character, and
  // R/AL first and last.
  if (mapped.some((cp) => inTable(cp, RAND_AL_CAT))) {
    if (mapped.some((cp) => inTable(cp, L_CAT))) return null;
    if (!inTable(mapped[0]!, RAND_AL_CAT) || !inTable(mapped[mapped.length - 1]!, RAND_AL_CAT)) return null;
  }
  // 2. Normalize with NFKC (RFC 4013 §2.2).
  return String.fromCodePoint(...mapped).normalize('NFKC');
}

/**
 * The password SCRAM-SHA-256 uses for PostgreSQL: ASCII as it is, otherwise its SASLprep form,
 * and the raw password when SASLprep rejects it — PostgreSQL does the same on both sides
 * (libpq and the server's verifier), so any password a role can be given logs in.
 * @see https://www.postgresql.org/docs/current/sasl-authentication.html#SASL-SCRAM-SHA-256
 */
export function scramPassword(password: string): string {
  if (/^[\x00-\x7f]*$/.test(password)) return password;
  return saslprep(password) ?? password;
}
