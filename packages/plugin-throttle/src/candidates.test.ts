import { describe, expect, it } from 'vitest';
import {
  aliasCandidates,
  aliasLookupDomain,
  clientCandidates,
  trackingAccount,
  userCandidates,
} from './candidates.ts';

describe('clientCandidates', () => {
  it("gives the address, @ip, iRedAPD's two wildcard forms and every containing network", () => {
    const found = clientCandidates('192.0.2.10', { enableAllWildcardIp: false });
    expect(found.slice(0, 4)).toEqual(['192.0.2.10', '@ip', '192.0.2.*', '192.0.*.10']);
    expect(found).toHaveLength(4 + 33);
    expect(found).toContain('192.0.2.0/24');
  });

  it('gives all 15 wildcard forms with enableAllWildcardIp', () => {
    const found = clientCandidates('192.0.2.10', { enableAllWildcardIp: true });
    expect(found).toContain('192.*.2.*');
    expect(found).toHaveLength(2 + 15 + 33);
  });

  it('gives no wildcard for IPv6 and only @ip without a client', () => {
    expect(clientCandidates('2001:db8::1', { enableAllWildcardIp: true })).toHaveLength(2 + 129);
    expect(clientCandidates('', { enableAllWildcardIp: false })).toEqual(['@ip']);
  });
});

describe('userCandidates', () => {
  it('gives the policy addresses and the local@* form of an address', () => {
    expect(userCandidates('john@mail.example.com')).toEqual([
      'john@mail.example.com',
      '@mail.example.com',
      '@.',
      '@.mail.example.com',
      '@.example.com',
      '@.com',
      'john@*',
    ]);
  });

  it('gives nothing for an empty user and only @. for a value that is not an address', () => {
    expect(userCandidates('')).toEqual([]);
    expect(userCandidates('john')).toEqual(['@.']);
  });
});

describe('alias domains', () => {
  it('looks up the domain of an address only', () => {
    expect(aliasLookupDomain('john@alias.example')).toBe('alias.example');
    expect(aliasLookupDomain('john')).toBeUndefined();
    expect(aliasLookupDomain('')).toBeUndefined();
  });

  it('builds the policy addresses of the same local part at the target', () => {
    expect(aliasCandidates('john@alias.example', 'example.com')).toEqual([
      'john@example.com',
      '@example.com',
      '@.',
      '@.example.com',
      '@.com',
    ]);
  });
});

describe('trackingAccount', () => {
  it.each([
    ['192.0.2.1', '192.0.2.10'],
    ['@ip', '192.0.2.10'],
    ['192.0.2.*', '192.0.2.*'],
    ['news@*', 'news@*'],
    ['192.0.2.0/24', '192.0.2.0/24'],
    ['u@example.com', 'u@example.com'],
    ['@example.com', 'u@example.com'],
    ['@.', 'u@example.com'],
  ])('keys a %s setting by %s', (account, key) => {
    expect(trackingAccount(account, 'u@example.com', '192.0.2.10')).toBe(key);
  });
});
