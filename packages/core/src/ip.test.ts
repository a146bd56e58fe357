import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PolicydError } from './errors.ts';
import {
  clientNetwork,
  containingNetworks,
  inspectNetwork,
  ipFamily,
  networkContains,
  parseNetwork,
} from './ip.ts';

function thrown(fn: () => unknown): PolicydError {
  try {
    fn();
  } catch (err) {
    if (err instanceof PolicydError) return err;
    throw err;
  }
  throw new Error('expected a PolicydError, nothing was thrown');
}

const ipv4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((o) => o.join('.'));

describe('ipFamily', () => {
  it('tells IPv4 from IPv6 and counts IPv4-mapped IPv6 as IPv4', () => {
    expect(ipFamily('192.0.2.1')).toBe('ipv4');
    expect(ipFamily('2001:DB8::1')).toBe('ipv6');
    expect(ipFamily('::ffff:192.0.2.1')).toBe('ipv4');
    expect(ipFamily('::1')).toBe('ipv6');
  });

  it('gives undefined for values that are not addresses', () => {
    for (const value of [
      '',
      'localhost',
      '192.0.2',
      '10',
      '0x7f.0.0.1',
      '01.2.3.4',
      '256.1.1.1',
      'fe80::1%eth0',
    ]) {
      expect(ipFamily(value)).toBeUndefined();
    }
  });
});

describe('inspectNetwork and parseNetwork', () => {
  it('accepts strict IPv4 and IPv6 networks and returns them canonical', () => {
    const v4 = parseNetwork('192.0.2.0/24');
    expect(v4).toMatchObject({
      family: 'ipv4',
      address: '192.0.2.0',
      prefixLength: 24,
      cidr: '192.0.2.0/24',
    });
    expect(Object.isFrozen(v4)).toBe(true);
    expect(parseNetwork(' 2001:DB8:0::/32 ')).toMatchObject({
      family: 'ipv6',
      address: '2001:db8::',
      prefixLength: 32,
      cidr: '2001:db8::/32',
    });
    expect(parseNetwork('0.0.0.0/0')?.cidr).toBe('0.0.0.0/0');
    expect(parseNetwork('192.0.2.1/32')?.cidr).toBe('192.0.2.1/32');
    expect(parseNetwork('::/0')?.cidr).toBe('::/0');
    expect(parseNetwork('2001:db8::1/128')?.cidr).toBe('2001:db8::1/128');
  });

  it('tells a network with host bits set apart, with the network it would mean', () => {
    const result = inspectNetwork('172.16.1.1/24');
    expect(result.ok).toBe(false);
    if (result.ok || result.reason !== 'host-bits-set')
      throw new Error(`unexpected ${JSON.stringify(result)}`);
    expect(result.network.cidr).toBe('172.16.1.0/24');
    expect(parseNetwork('172.16.1.1/24')).toBeUndefined();
    expect(parseNetwork('1.2.3.4/24')).toBeUndefined();
    expect(inspectNetwork('2001:db8::1/64')).toMatchObject({ ok: false, reason: 'host-bits-set' });
  });

  it('rejects everything else as invalid', () => {
    const invalid = [
      '',
      '192.0.2.0',
      '192.0.2.0/',
      '/24',
      '192.0.2.0/33',
      '2001:db8::/129',
      '192.0.2.0/024',
      '192.0.2.0/+24',
      '192.0.2.0/24/1',
      '192.0.2.0/255.255.255.0',
      '192.0.2.0 /24',
      '10/8',
      '192.0.2.*/24',
      'fe80::%eth0/64',
      'example.com/24',
    ];
    for (const text of invalid) expect(inspectNetwork(text), text).toEqual({ ok: false, reason: 'invalid' });
  });

  it('turns a network inside ::ffff:0:0/96 into the IPv4 network it covers', () => {
    expect(parseNetwork('::ffff:192.0.2.0/120')?.cidr).toBe('192.0.2.0/24');
    expect(parseNetwork('::ffff:c000:200/120')?.cidr).toBe('192.0.2.0/24');
    expect(parseNetwork('::ffff:0:0/96')?.cidr).toBe('0.0.0.0/0');
    expect(inspectNetwork('::ffff:192.0.2.1/120')).toMatchObject({ ok: false, reason: 'host-bits-set' });
    // Wider than the mapped block: stays an IPv6 network.
    expect(parseNetwork('::ffff:0:0/95')).toBeUndefined();
    expect(parseNetwork('::/80')?.family).toBe('ipv6');
  });
});

describe('networkContains', () => {
  it('matches addresses inside a network, in any spelling', () => {
    expect(networkContains('192.0.2.0/24', '192.0.2.77')).toBe(true);
    expect(networkContains('192.0.2.0/24', '192.0.3.1')).toBe(false);
    expect(networkContains('192.0.2.0/24', '::ffff:192.0.2.5')).toBe(true);
    expect(networkContains('2001:db8::/32', '2001:DB8:0:0::abcd')).toBe(true);
    expect(networkContains('2001:db8::/32', '2001:db9::1')).toBe(false);
    expect(networkContains('::ffff:10.0.0.0/104', '10.9.8.7')).toBe(true);
  });

  it('never crosses families', () => {
    expect(networkContains('0.0.0.0/0', '2001:db8::1')).toBe(false);
    expect(networkContains('::/0', '192.0.2.1')).toBe(false);
    expect(networkContains('::/0', '2001:db8::1')).toBe(true);
  });

  it('returns false instead of throwing for invalid input', () => {
    expect(networkContains('192.0.2.1/24', '192.0.2.1')).toBe(false);
    expect(networkContains('nonsense', '192.0.2.1')).toBe(false);
    expect(networkContains('192.0.2.0/24', 'unknown')).toBe(false);
    expect(networkContains('192.0.2.0/24', '')).toBe(false);
  });

  it('accepts a parsed network', () => {
    const network = parseNetwork('10.0.0.0/8');
    if (network === undefined) throw new Error('expected a network');
    expect(networkContains(network, '10.255.0.1')).toBe(true);
    expect(network.contains('11.0.0.1')).toBe(false);
  });

  it('agrees with an octet comparison for /8, /16 and /24 (property)', () => {
    fc.assert(
      fc.property(ipv4, ipv4, fc.constantFrom(1, 2, 3), (net, ip, octets) => {
        const cidr = `${net.split('.').slice(0, octets).concat(['0', '0', '0']).slice(0, 4).join('.')}/${octets * 8}`;
        const expected =
          net.split('.').slice(0, octets).join('.') === ip.split('.').slice(0, octets).join('.');
        expect(networkContains(cidr, ip)).toBe(expected);
      }),
    );
  });

  it('agrees with clientNetwork for any IPv4 prefix (property)', () => {
    fc.assert(
      fc.property(ipv4, ipv4, fc.integer({ min: 0, max: 32 }), (a, b, prefix) => {
        const network = clientNetwork(a, { v4Prefix: prefix });
        if (network === undefined) throw new Error('expected a network');
        expect(networkContains(network, a)).toBe(true);
        expect(networkContains(network, b)).toBe(clientNetwork(b, { v4Prefix: prefix }) === network);
      }),
    );
  });
});

describe('clientNetwork', () => {
  it('groups IPv4 by /24 and IPv6 by /64 by default', () => {
    expect(clientNetwork('192.0.2.77')).toBe('192.0.2.0/24');
    expect(clientNetwork('2001:DB8:1:2:3::4')).toBe('2001:db8:1:2::/64');
    expect(clientNetwork('2001:db8::1')).toBe('2001:db8::/64');
    expect(clientNetwork('::ffff:192.0.2.77')).toBe('192.0.2.0/24');
  });

  it('uses the given prefixes', () => {
    expect(clientNetwork('192.0.2.77', { v4Prefix: 32 })).toBe('192.0.2.77/32');
    expect(clientNetwork('192.0.2.77', { v4Prefix: 16 })).toBe('192.0.0.0/16');
    expect(clientNetwork('192.0.2.77', { v4Prefix: 0 })).toBe('0.0.0.0/0');
    expect(clientNetwork('2001:db8:1:2:3::4', { v6Prefix: 48 })).toBe('2001:db8:1::/48');
    expect(clientNetwork('2001:db8:1:2:3::4', { v6Prefix: 128 })).toBe('2001:db8:1:2:3::4/128');
  });

  it('gives undefined for a value that is not an address', () => {
    expect(clientNetwork('unknown')).toBeUndefined();
    expect(clientNetwork('')).toBeUndefined();
  });

  it('rejects prefixes out of range with POLICYD_ERR_INVALID_OPTION', () => {
    for (const options of [
      { v4Prefix: 33 },
      { v4Prefix: -1 },
      { v4Prefix: 24.5 },
      { v6Prefix: 129 },
      { v6Prefix: Number.NaN },
    ]) {
      expect(thrown(() => clientNetwork('192.0.2.1', options)).code).toBe('POLICYD_ERR_INVALID_OPTION');
    }
  });

  it('returns a strict network that contains the client (property)', () => {
    fc.assert(
      fc.property(fc.ipV6(), fc.integer({ min: 0, max: 128 }), (ip, prefix) => {
        const network = clientNetwork(ip, { v6Prefix: prefix, v4Prefix: Math.min(prefix, 32) });
        if (network === undefined) throw new Error(`no network for ${ip}`);
        expect(parseNetwork(network)?.cidr).toBe(network);
        expect(networkContains(network, ip)).toBe(true);
      }),
    );
  });
});

describe('containingNetworks', () => {
  it('lists every network of an IPv4 address, most specific first', () => {
    const networks = containingNetworks('192.0.2.77');
    expect(networks).toHaveLength(33);
    expect(networks.slice(0, 4)).toEqual([
      '192.0.2.77/32',
      '192.0.2.76/31',
      '192.0.2.76/30',
      '192.0.2.72/29',
    ]);
    expect(networks).toContain('192.0.2.0/24');
    expect(networks).toContain('192.0.0.0/16');
    expect(networks.at(-1)).toBe('0.0.0.0/0');
  });

  it('lists every network of an IPv6 address in canonical form', () => {
    const networks = containingNetworks('2001:DB8:0:0:1::5');
    expect(networks).toHaveLength(129);
    expect(networks[0]).toBe('2001:db8::1:0:0:5/128');
    expect(networks).toContain('2001:db8::/32');
    expect(networks).toContain('2001:db8::/64');
    expect(networks.at(-1)).toBe('::/0');
  });

  it('treats IPv4-mapped IPv6 as IPv4 and gives nothing for a non-address', () => {
    expect(containingNetworks('::ffff:192.0.2.1')[0]).toBe('192.0.2.1/32');
    expect(containingNetworks('unknown')).toEqual([]);
  });

  it('contains exactly the canonical networks that contain the address', () => {
    fc.assert(
      fc.property(fc.ipV4(), fc.integer({ min: 0, max: 32 }), (ip, prefix) => {
        const cidr = clientNetwork(ip, { v4Prefix: prefix });
        expect(containingNetworks(ip)).toContain(cidr);
        const networks = containingNetworks(ip);
        for (const n of networks) expect(networkContains(n, ip)).toBe(true);
        expect(networks.every((n) => parseNetwork(n)?.cidr === n)).toBe(true);
      }),
      { numRuns: 50 },
    );
  });
});
