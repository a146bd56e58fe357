import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { normalizeIp } from './ip.ts';

describe('normalizeIp', () => {
  it.each([
    ['192.0.2.1', '192.0.2.1'],
    [' 192.0.2.1\t', '192.0.2.1'],
    ['0.0.0.0', '0.0.0.0'],
    ['255.255.255.255', '255.255.255.255'],
    ['::ffff:192.0.2.1', '192.0.2.1'],
    ['::FFFF:192.0.2.1', '192.0.2.1'],
    ['::ffff:c000:201', '192.0.2.1'],
    ['0:0:0:0:0:ffff:192.0.2.1', '192.0.2.1'],
    ['2001:DB8:0:0::1', '2001:db8::1'],
    ['2001:0db8:0000:0000:0000:0000:0000:0001', '2001:db8::1'],
    ['2001:db8:0:1:0:0:0:1', '2001:db8:0:1::1'],
    ['::1', '::1'],
    ['::', '::'],
  ])('makes %j canonical as %j', (value, want) => {
    expect(normalizeIp(value)).toBe(want);
  });

  it.each([
    '',
    'unknown',
    'localhost',
    '10',
    '10.1',
    '0x7f.0.0.1',
    '0177.0.0.1',
    '192.0.2.01',
    '256.1.1.1',
    '192.0.2',
    '192.0.2.1.5',
    'fe80::1%eth0',
    '2001:db8::1::2',
    '192.0.2.0/24',
    '[2001:db8::1]',
  ])('gives undefined for %j', (value) => {
    expect(normalizeIp(value)).toBeUndefined();
  });

  it('returns every dotted quad without leading zeros unchanged', () => {
    const quad = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((o) => o.join('.'));
    fc.assert(
      fc.property(quad, (ip) => {
        expect(normalizeIp(ip)).toBe(ip);
      }),
    );
  });

  it('is idempotent', () => {
    const ipv6 = fc.ipV6();
    fc.assert(
      fc.property(fc.oneof(ipv6, fc.ipV4()), (ip) => {
        const once = normalizeIp(ip);
        expect(once).toBeDefined();
        expect(normalizeIp(once!)).toBe(once);
      }),
    );
  });
});
