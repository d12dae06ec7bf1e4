import type { JWTPayload } from 'jose';

/** A group rule of a machine issuer: when every listed claim matches, the groups are added. */
export interface GroupRule {
  /** Claim name → accepted value or values. A claim that is an array matches when any element does. */
  when: Record<string, string | string[]>;
  add: string[];
}

export class ClaimMappingError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = new.target.name;
    this.code = code;
  }
}

/**
 * Expands a template such as `ci:{repository}` over a token's claims. A placeholder whose claim is
 * missing, empty or not a string/number is an error: an identity must never collapse to `ci:`.
 */
export function expandIdentityTemplate(template: string, claims: JWTPayload): string {
  return template.replace(/\{([A-Za-z0-9_.:-]+)\}/g, (_all, name: string) => {
    const value = claims[name];
    if ((typeof value === 'string' && value !== '') || typeof value === 'number') return String(value);
    throw new ClaimMappingError('missing_claim', `token has no usable "${name}" claim for the identity`);
  });
}

function claimMatches(value: unknown, accepted: string | string[]): boolean {
  const wanted = Array.isArray(accepted) ? accepted : [accepted];
  const have = Array.isArray(value) ? value : [value];
  return have.some((v) => (typeof v === 'string' || typeof v === 'number') && wanted.includes(String(v)));
}

/** Groups from rules whose every condition matches the claims, deduplicated, in rule order. */
export function groupsFromRules(rules: readonly GroupRule[], claims: JWTPayload): string[] {
  const out: string[] = [];
  for (const rule of rules) {
    const conditions = Object.entries(rule.when);
    if (conditions.length === 0) continue;
    if (conditions.every(([claim, accepted]) => claimMatches(claims[claim], accepted))) {
      for (const g of rule.add) if (!out.includes(g)) out.push(g);
    }
  }
  return out;
}

/** Groups from a claim holding a list (or a space/comma separated string) of group names. */
export function groupsFromClaim(claims: JWTPayload, name: string): string[] {
  const value = claims[name];
  const list = Array.isArray(value) ? value : typeof value === 'string' ? value.split(/[\s,]+/) : [];
  const out: string[] = [];
  for (const v of list) if (typeof v === 'string' && v !== '' && !out.includes(v)) out.push(v);
  return out;
}
