import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PolicydError } from './errors.ts';
import { createTrustedNetworks } from './trusted-networks.ts';

function collect(entries: readonly unknown[]) {
  const invalid: [string, string][] = [];
  const trusted = createTrustedNetworks(entries as readonly string[], {
    onInvalid: (entry, why) => invalid.push([entry, why]),
  });
  return { trusted, invalid };
}

describe('createTrustedNetworks', () => {
  it('always trusts 127.0.0.1 and ::1, in any spelling', () => {
    const trusted = createTrustedNetworks([]);
    for (const ip of ['127.0.0.1', '::1', '0:0:0:0:0:0:0:1', '::ffff:127.0.0.1', ' 127.0.0.1 ']) {
      expect(trusted.contains(ip), ip).toBe(true);
    }
    expect(trusted.entries).toEqual([]);
  });

  it('does not trust other loopback addresses unless listed (as iRedAPD)', () => {
    expect(createTrustedNetworks([]).contains('127.0.0.2')).toBe(false);
    expect(createTrustedNetworks(['127.0.0.0/8']).contains('127.0.0.2')).toBe(true);
  });

  it('trusts listed addresses, compared canonically', () => {
    const { trusted, invalid } = collect(['192.0.2.10', '2001:DB8:0::1', '::ffff:198.51.100.7']);
    expect(invalid).toEqual([]);
    expect(trusted.contains('192.0.2.10')).toBe(true);
    expect(trusted.contains('192.0.2.11')).toBe(false);
    expect(trusted.contains('2001:db8::1')).toBe(true);
    expect(trusted.contains('2001:0db8:0000:0000:0000:0000:0000:0001')).toBe(true);
    expect(trusted.contains('2001:db8::2')).toBe(false);
    expect(trusted.contains('198.51.100.7')).toBe(true);
    expect(trusted.contains('::ffff:192.0.2.10')).toBe(true);
    expect(trusted.entries).toEqual(['192.0.2.10', '2001:db8::1', '198.51.100.7']);
  });

  it('matches wildcard entries by octet (B9 fixed: no ENABLE_ALL_WILDCARD_IP needed)', () => {
    const { trusted, invalid } = collect(['192.168.*.*', '10.*.0.*', '172.16.1.*']);
    expect(invalid).toEqual([]);
    expect(trusted.contains('192.168.5.6')).toBe(true);
    expect(trusted.contains('192.169.5.6')).toBe(false);
    expect(trusted.contains('10.20.0.3')).toBe(true);
    expect(trusted.contains('10.20.1.3')).toBe(false);
    expect(trusted.contains('172.16.1.200')).toBe(true);
    expect(trusted.contains('::ffff:192.168.1.1')).toBe(true);
    expect(trusted.contains('2001:db8::1')).toBe(false);
  });

  it('trusts everything IPv4 with *.*.*.*, nothing IPv6', () => {
    const trusted = createTrustedNetworks(['*.*.*.*']);
    fc.assert(
      fc.property(fc.ipV4(), (ip) => {
        expect(trusted.contains(ip)).toBe(true);
      }),
    );
    expect(trusted.contains('2001:db8::1')).toBe(false);
  });

  it('matches strict IPv4 and IPv6 networks', () => {
    const { trusted, invalid } = collect(['10.0.0.0/8', '2001:DB8::/32', '198.51.100.0/24']);
    expect(invalid).toEqual([]);
    expect(trusted.contains('10.255.255.255')).toBe(true);
    expect(trusted.contains('11.0.0.0')).toBe(false);
    expect(trusted.contains('198.51.100.99')).toBe(true);
    expect(trusted.contains('2001:db8:ffff::1')).toBe(true);
    expect(trusted.contains('2001:db9::1')).toBe(false);
    expect(trusted.contains('::ffff:10.1.2.3')).toBe(true);
    expect(trusted.entries).toEqual(['10.0.0.0/8', '2001:db8::/32', '198.51.100.0/24']);
  });

  it('treats a network inside ::ffff:0:0/96 as IPv4', () => {
    const trusted = createTrustedNetworks(['::ffff:192.0.2.0/120']);
    expect(trusted.contains('192.0.2.9')).toBe(true);
    expect(trusted.entries).toEqual(['192.0.2.0/24']);
  });

  it('reports a network with host bits set and skips it (B9: iRedAPD drops it silently)', () => {
    const { trusted, invalid } = collect(['172.16.1.1/24', '2001:db8::1/64']);
    expect(invalid).toHaveLength(2);
    expect(invalid[0]?.[0]).toBe('172.16.1.1/24');
    expect(invalid[0]?.[1]).toContain('host bits');
    expect(invalid[0]?.[1]).toContain('172.16.1.0/24');
    expect(invalid[1]?.[1]).toContain('2001:db8::/64');
    expect(trusted.contains('172.16.1.1')).toBe(false);
    expect(trusted.contains('172.16.1.2')).toBe(false);
    expect(trusted.entries).toEqual([]);
  });

  it('reports every invalid entry, as given, and keeps the valid ones', () => {
    const { trusted, invalid } = collect([
      'example.com',
      '192.0.2.0/33',
      '192.168.*',
      '1*.2.3.4',
      '2001:db8::*',
      '',
      ' 10.0.0.1 ',
      42,
      '192.0.2.0/255.255.255.0',
    ]);
    expect(invalid.map(([entry]) => entry)).toEqual([
      'example.com',
      '192.0.2.0/33',
      '192.168.*',
      '1*.2.3.4',
      '2001:db8::*',
      '',
      '42',
      '192.0.2.0/255.255.255.0',
    ]);
    for (const [, why] of invalid) expect(why).not.toBe('');
    expect(trusted.entries).toEqual(['10.0.0.1']);
    expect(trusted.contains('10.0.0.1')).toBe(true);
  });

  it('throws POLICYD_ERR_INVALID_OPTION for an invalid entry when nobody listens', () => {
    let error: unknown;
    try {
      createTrustedNetworks(['10.0.0.0/8', '172.16.1.1/24']);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(PolicydError);
    expect(error).toMatchObject({ code: 'POLICYD_ERR_INVALID_OPTION', value: '172.16.1.1/24' });
    expect((error as Error).message).toContain('172.16.1.0/24');
  });

  it('drops duplicates from entries', () => {
    const trusted = createTrustedNetworks([
      '10.0.0.1',
      '10.0.0.1',
      '10.0.0.0/8',
      '10.0.0.0/8',
      '1.*.*.*',
      '1.*.*.*',
    ]);
    expect(trusted.entries).toEqual(['10.0.0.1', '10.0.0.0/8', '1.*.*.*']);
  });

  it('is frozen, and contains() never throws', () => {
    const trusted = createTrustedNetworks(['10.0.0.0/8', '192.168.*.*', '2001:db8::/32']);
    expect(Object.isFrozen(trusted)).toBe(true);
    expect(Object.isFrozen(trusted.entries)).toBe(true);
    for (const ip of ['', 'unknown', '10.0.0', '10.0.0.0/8', 'fe80::1%eth0', '999.1.1.1']) {
      expect(trusted.contains(ip), ip).toBe(false);
    }
    fc.assert(
      fc.property(fc.string(), (value) => {
        expect(typeof trusted.contains(value)).toBe('boolean');
      }),
    );
  });

  it('agrees with a per-entry check (property)', () => {
    const trusted = createTrustedNetworks(['10.0.0.0/8', '192.168.*.*', '172.16.0.0/12', '*.*.0.1']);
    // Addresses near the entries as well as anywhere, so that both outcomes are common.
    const near = fc
      .tuple(
        fc.constantFrom(10, 11, 127, 172, 192),
        fc.oneof(fc.constantFrom(15, 16, 31, 32, 168), fc.nat(255)),
        fc.oneof(fc.constant(0), fc.nat(255)),
        fc.oneof(fc.constant(1), fc.nat(255)),
      )
      .map((octets) => octets.join('.'));
    fc.assert(
      fc.property(fc.oneof(fc.ipV4(), near), (ip) => {
        const [a, b, c, d] = ip.split('.').map(Number) as [number, number, number, number];
        const expected =
          ip === '127.0.0.1' ||
          a === 10 ||
          (a === 192 && b === 168) ||
          (a === 172 && b >= 16 && b <= 31) ||
          (c === 0 && d === 1);
        expect(trusted.contains(ip)).toBe(expected);
      }),
    );
  });
});
