import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  everyWildcardIPv4,
  matchesWildcardIPv4,
  parseWildcardIPv4,
  policyAddresses,
  wildcardAddress,
  wildcardIPv4,
} from './candidates.ts';

const ipv4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((o) => o.join('.'));
// A wildcard pattern made from `base` by starring the octets in `mask` (bit i → octet i).
const star = (base: string, mask: number) =>
  base
    .split('.')
    .map((o, i) => ((mask >> i) & 1 ? '*' : o))
    .join('.');

describe('policyAddresses', () => {
  it('expands an address as iRedAPD does (2.8.1)', () => {
    expect(policyAddresses('u@a.b.example.com')).toEqual([
      'u@a.b.example.com',
      '@a.b.example.com',
      '@.',
      '@.a.b.example.com',
      '@.b.example.com',
      '@.example.com',
      '@.com',
    ]);
    expect(policyAddresses('user@example.com')).toEqual([
      'user@example.com',
      '@example.com',
      '@.',
      '@.example.com',
      '@.com',
    ]);
  });

  it('gives only the catch-all for values that are not e-mail addresses', () => {
    for (const value of [
      '',
      ' ',
      'user@localhost',
      'example.com',
      '@example.com',
      'a b@example.com',
      '192.0.2.1',
    ]) {
      expect(policyAddresses(value), value).toEqual(['@.']);
    }
  });

  it('trims and drops the duplicate a trailing dot would give', () => {
    expect(policyAddresses(' x@y.com. ')).toEqual(['x@y.com.', '@y.com.', '@.', '@.y.com.', '@.com.']);
  });
});

describe('wildcardAddress', () => {
  it('cuts the local part at the first + and appends @*', () => {
    expect(wildcardAddress('john@example.com')).toBe('john@*');
    expect(wildcardAddress('john+news+x@example.com')).toBe('john@*');
    expect(wildcardAddress('john-news@example.com')).toBe('john-news@*');
    expect(wildcardAddress('nodomain')).toBe('nodomain@*');
  });
});

describe('wildcardIPv4', () => {
  it('gives a.b.c.* and a.b.*.d by default', () => {
    expect(wildcardIPv4('192.0.2.7')).toEqual(['192.0.2.*', '192.0.*.7']);
    expect(wildcardIPv4('192.0.2.7', { all: false })).toEqual(['192.0.2.*', '192.0.*.7']);
  });

  it('gives the 10 contiguous-run patterns with all: true (ENABLE_ALL_WILDCARD_IP)', () => {
    expect(wildcardIPv4('1.2.3.4', { all: true })).toEqual([
      '*.2.3.4',
      '*.*.3.4',
      '*.*.*.4',
      '*.*.*.*',
      '1.*.3.4',
      '1.*.*.4',
      '1.*.*.*',
      '1.2.*.4',
      '1.2.*.*',
      '1.2.3.*',
    ]);
  });

  it('never generates non-contiguous patterns, as in iRedAPD', () => {
    const all = wildcardIPv4('1.2.3.4', { all: true });
    for (const p of ['*.2.*.4', '1.*.3.*', '*.2.3.*', '*.*.3.*', '*.2.*.*']) expect(all).not.toContain(p);
  });

  it('gives nothing for IPv6 or invalid values, and treats IPv4-mapped IPv6 as IPv4', () => {
    expect(wildcardIPv4('2001:db8::1')).toEqual([]);
    expect(wildcardIPv4('2001:db8::1', { all: true })).toEqual([]);
    expect(wildcardIPv4('unknown')).toEqual([]);
    expect(wildcardIPv4('192.0.2')).toEqual([]);
    expect(wildcardIPv4('::ffff:192.0.2.7')).toEqual(['192.0.2.*', '192.0.*.7']);
  });
});

describe('everyWildcardIPv4', () => {
  it('gives the 15 patterns, contiguous or not', () => {
    const forms = everyWildcardIPv4('1.2.3.4');
    expect(forms).toHaveLength(15);
    expect(new Set(forms).size).toBe(15);
    expect(forms).toContain('*.2.*.4');
    expect(forms).toContain('1.*.3.*');
    expect(forms).toContain('*.*.*.*');
    expect(forms).not.toContain('1.2.3.4');
    for (const p of wildcardIPv4('1.2.3.4', { all: true })) expect(forms).toContain(p);
    expect(everyWildcardIPv4('2001:db8::1')).toEqual([]);
  });
});

describe('parseWildcardIPv4', () => {
  it('parses four groups of * or octets with at least one *', () => {
    expect(parseWildcardIPv4('192.168.*.*')).toEqual([192, 168, '*', '*']);
    expect(parseWildcardIPv4(' *.*.*.* ')).toEqual(['*', '*', '*', '*']);
    expect(parseWildcardIPv4('0.*.255.0')).toEqual([0, '*', 255, 0]);
    expect(Object.isFrozen(parseWildcardIPv4('1.*.1.1'))).toBe(true);
  });

  it('rejects anything else', () => {
    for (const value of [
      '1.2.3.4',
      '1.2.*',
      '1.2.3.4.*',
      '1*.2.3.4',
      '**.1.1.1',
      '256.*.1.1',
      '01.*.1.1',
      '1.*..1',
      'a.*.1.1',
      '',
      '::*',
    ]) {
      expect(parseWildcardIPv4(value), value).toBeUndefined();
    }
  });
});

describe('matchesWildcardIPv4', () => {
  it('matches any * position (B9/B16 fixed)', () => {
    expect(matchesWildcardIPv4('192.168.*.*', '192.168.5.6')).toBe(true);
    expect(matchesWildcardIPv4('192.*.1.*', '192.0.1.7')).toBe(true);
    expect(matchesWildcardIPv4('*.*.*.*', '8.8.8.8')).toBe(true);
    expect(matchesWildcardIPv4('192.0.2.*', '192.0.2.255')).toBe(true);
    expect(matchesWildcardIPv4('192.168.*.*', '192.169.5.6')).toBe(false);
    expect(matchesWildcardIPv4('192.*.1.*', '192.0.2.7')).toBe(false);
  });

  it('accepts a parsed pattern and IPv4-mapped clients', () => {
    const parsed = parseWildcardIPv4('10.*.*.1');
    if (parsed === undefined) throw new Error('expected a pattern');
    expect(matchesWildcardIPv4(parsed, '10.20.30.1')).toBe(true);
    expect(matchesWildcardIPv4(parsed, '::ffff:10.20.30.1')).toBe(true);
    expect(matchesWildcardIPv4(parsed, '10.20.30.2')).toBe(false);
  });

  it('returns false for invalid patterns, IPv6 and non-addresses', () => {
    expect(matchesWildcardIPv4('1.2.3.4', '1.2.3.4')).toBe(false);
    expect(matchesWildcardIPv4('nonsense', '1.2.3.4')).toBe(false);
    expect(matchesWildcardIPv4('*.*.*.*', '2001:db8::1')).toBe(false);
    expect(matchesWildcardIPv4('*.*.*.*', 'unknown')).toBe(false);
  });

  it('agrees with an octet comparison and with everyWildcardIPv4 (property)', () => {
    fc.assert(
      // Half of the patterns come from the client itself, so both outcomes are exercised.
      fc.property(ipv4, ipv4, fc.integer({ min: 1, max: 15 }), fc.boolean(), (ip, other, mask, own) => {
        const p = star(own ? ip : other, mask);
        const expected = p.split('.').every((g, i) => g === '*' || g === ip.split('.')[i]);
        expect(matchesWildcardIPv4(p, ip)).toBe(expected);
        expect(everyWildcardIPv4(ip).includes(p)).toBe(expected);
      }),
    );
  });

  it('matches every pattern iRedAPD generates for the client (property)', () => {
    fc.assert(
      fc.property(ipv4, fc.boolean(), (ip, all) => {
        for (const p of wildcardIPv4(ip, { all })) expect(matchesWildcardIPv4(p, ip)).toBe(true);
      }),
    );
  });
});
