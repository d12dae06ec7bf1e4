import { describe, expect, it } from 'vitest';
import {
  ClaimMappingError,
  expandIdentityTemplate,
  type GroupRule,
  groupsFromClaim,
  groupsFromRules,
} from './claim-mapping.js';

const github = {
  repository: 'acme/payments',
  ref: 'refs/heads/main',
  environment: 'production',
  run_number: 42,
};

describe('expandIdentityTemplate', () => {
  it('fills placeholders from claims', () => {
    expect(expandIdentityTemplate('ci:{repository}', github)).toBe('ci:acme/payments');
    expect(expandIdentityTemplate('{repository}#{run_number}', github)).toBe('acme/payments#42');
  });
  it('refuses a missing or empty claim instead of producing a truncated identity', () => {
    expect(() => expandIdentityTemplate('ci:{repository}', {})).toThrow(ClaimMappingError);
    expect(() => expandIdentityTemplate('ci:{repository}', { repository: '' })).toThrow(ClaimMappingError);
    expect(() => expandIdentityTemplate('ci:{repository}', { repository: ['a'] })).toThrow(ClaimMappingError);
  });
});

describe('groupsFromRules', () => {
  const rules: GroupRule[] = [
    { when: { repository: 'acme/payments', ref: 'refs/heads/main' }, add: ['deployers'] },
    { when: { environment: ['staging', 'production'] }, add: ['deployers', 'readers'] },
    { when: { repository: 'acme/other' }, add: ['other'] },
    { when: {}, add: ['never'] },
  ];
  it('adds the groups of every rule whose conditions all match, once each', () => {
    expect(groupsFromRules(rules, github)).toEqual(['deployers', 'readers']);
  });
  it('needs every condition of a rule', () => {
    expect(groupsFromRules(rules, { ...github, ref: 'refs/heads/feature', environment: 'dev' })).toEqual([]);
  });
  it('matches array claims by any element and never matches an empty rule', () => {
    expect(groupsFromRules([{ when: { teams: 'sre' }, add: ['sre'] }], { teams: ['web', 'sre'] })).toEqual([
      'sre',
    ]);
    expect(groupsFromRules([{ when: {}, add: ['x'] }], github)).toEqual([]);
  });
});

describe('groupsFromClaim', () => {
  it('reads arrays and separated strings, dropping non-strings and duplicates', () => {
    expect(groupsFromClaim({ groups: ['a', 'b', 'a', 3] }, 'groups')).toEqual(['a', 'b']);
    expect(groupsFromClaim({ groups: 'a b,c' }, 'groups')).toEqual(['a', 'b', 'c']);
    expect(groupsFromClaim({}, 'groups')).toEqual([]);
  });
});
