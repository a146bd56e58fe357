import { describe, expect, it } from 'vitest';
import {
  ACCOUNT_PRIORITIES,
  ACCOUNT_TYPES,
  type AccountType,
  accountPriority,
  classifyAccount,
  MAILADDR_PRIORITIES,
  mailaddrPriority,
  parseAccount,
} from './accounts.ts';
import { PolicydError } from './errors.ts';

function thrown(fn: () => unknown): PolicydError {
  try {
    fn();
  } catch (err) {
    if (err instanceof PolicydError) return err;
    throw err;
  }
  throw new Error('expected a PolicydError, nothing was thrown');
}

const EXAMPLES: readonly (readonly [string, AccountType])[] = [
  ['@.', 'catchall'],
  ['@.example.com', 'subdomain'],
  ['@.co.uk', 'subdomain'],
  ['@.com', 'top_level_domain'],
  ['@.xn--p1ai', 'top_level_domain'],
  ['@ip', 'catchall_ip'],
  ['@example.com', 'domain'],
  ['@sub.example.co.uk', 'domain'],
  ['user@example.com', 'email'],
  ['first.last+tag@sub.example.com', 'email'],
  ['ü@exämple.com', 'email'],
  ['user@*', 'wildcard_addr'],
  ['u+x@*', 'wildcard_addr'],
  ['192.0.2.1', 'ip'],
  ['2001:db8::1', 'ip'],
  ['::1', 'ip'],
  ['::ffff:192.0.2.1', 'ip'],
  ['1.2.3.0/24', 'cidr'],
  ['10.0.0.0/8', 'cidr'],
  ['192.0.2.1/32', 'cidr'],
  ['2001:db8::/32', 'cidr'],
  ['1.2.3.*', 'wildcard_ip'],
  ['1.2.*.4', 'wildcard_ip'],
  ['*.*.*.*', 'wildcard_ip'],
  ['192.*.1.*', 'wildcard_ip'],
];

describe('classifyAccount', () => {
  it.each(EXAMPLES)('classifies %s as %s', (value, type) => {
    expect(classifyAccount(value)).toBe(type);
  });

  it.each([
    ['@com', 'a domain needs a dot'],
    ['example.com', 'a bare domain is no account'],
    ['user@localhost', 'no dot in the domain'],
    ['@.x', 'a top-level label needs 2 characters'],
    ['1.2.3.4/24', 'host bits set'],
    ['2001:db8::1/32', 'host bits set'],
    ['', 'empty'],
    ['@', 'nothing after @'],
    ['@ip.', 'not @ip, not a domain'],
    ['@example.com+x', 'iRedAPD’s domain check refuses + anywhere'],
    ['@example.com/x', 'iRedAPD’s domain check refuses / anywhere'],
    ['@exa mple.com', 'iRedAPD’s domain check refuses spaces'],
    ['a b@example.com', 'space in an address'],
    ['@*', 'no local part'],
    ['1.2.3.0/33', 'prefix out of range'],
    ['1.2.3.0/255.255.255.0', 'netmask forms are not networks'],
    ['1.2.3', 'three groups'],
    ['1.2.3.4.*', 'five groups'],
    ['999.1.1.1', 'not an address, not a wildcard'],
    ['1*.2.3.4', 'a group is * or an octet (iRedAPD: wildcard_ip)'],
    ['**.2.3.4', 'a group is * or an octet (iRedAPD: wildcard_ip)'],
    ['256.*.1.1', 'octet out of range (iRedAPD: wildcard_ip)'],
    ['01.*.1.1', 'leading zero (iRedAPD: wildcard_ip)'],
    ['2001:db8::*', 'no IPv6 wildcards'],
  ])('rejects %s (%s)', (value) => {
    expect(classifyAccount(value)).toBeUndefined();
  });

  it('keeps iRedAPD’s prefix matches', () => {
    expect(classifyAccount('user@example.com>')).toBe('email');
    expect(classifyAccount('user@*junk')).toBe('wildcard_addr');
    // Not a domain (no 2-letter label after the last dot), but starts with a 2–25 character label.
    expect(classifyAccount('@.com.')).toBe('top_level_domain');
    expect(classifyAccount('@.example.123')).toBe('top_level_domain');
  });

  it('tries the forms in iRedAPD’s order', () => {
    // `@.` + domain is a subdomain even though the label test would also pass.
    expect(classifyAccount('@.example.com')).toBe('subdomain');
    // An address is an IP before it could be read as a (star-less) wildcard.
    expect(classifyAccount('1.2.3.4')).toBe('ip');
    // `@ip` is the IP catch-all, not a domain.
    expect(classifyAccount('@ip')).toBe('catchall_ip');
  });

  it('takes the value as given', () => {
    expect(classifyAccount('USER@EXAMPLE.COM')).toBe('email');
    expect(classifyAccount('@IP')).toBeUndefined();
    expect(classifyAccount('2001:DB8::/32')).toBe('cidr');
  });
});

describe('priorities', () => {
  it('has both tables for every type, frozen', () => {
    expect(Object.keys(ACCOUNT_PRIORITIES).sort()).toEqual([...ACCOUNT_TYPES].sort());
    expect(Object.keys(MAILADDR_PRIORITIES).sort()).toEqual([...ACCOUNT_TYPES].sort());
    expect(Object.isFrozen(ACCOUNT_PRIORITIES)).toBe(true);
    expect(Object.isFrozen(MAILADDR_PRIORITIES)).toBe(true);
    expect(Object.isFrozen(ACCOUNT_TYPES)).toBe(true);
  });

  it('lists ACCOUNT_TYPES highest account priority first', () => {
    const priorities = ACCOUNT_TYPES.map((t) => ACCOUNT_PRIORITIES[t]);
    expect(priorities).toEqual([...priorities].sort((a, b) => b - a));
  });

  it('gives iRedAPD’s ACCOUNT_PRIORITIES, with networks at 70 (B11 fixed)', () => {
    expect(accountPriority('user@example.com')).toBe(100);
    expect(accountPriority('user@*')).toBe(90);
    expect(accountPriority('192.0.2.1')).toBe(80);
    expect(accountPriority('192.0.2.*')).toBe(70);
    expect(accountPriority('192.0.2.0/24')).toBe(70);
    expect(accountPriority('2001:db8::/32')).toBe(70);
    expect(accountPriority('@example.com')).toBe(60);
    expect(accountPriority('@.example.com')).toBe(50);
    expect(accountPriority('@.com')).toBe(40);
    expect(accountPriority('@ip')).toBe(0);
    expect(accountPriority('@.')).toBe(0);
    expect(accountPriority('example.com')).toBeUndefined();
  });

  it('gives iRedAPD’s MAILADDR_PRIORITIES', () => {
    expect(mailaddrPriority('user@example.com')).toBe(10);
    expect(mailaddrPriority('192.0.2.1')).toBe(9);
    expect(mailaddrPriority('192.0.2.*')).toBe(8);
    expect(mailaddrPriority('192.0.2.0/24')).toBe(7);
    expect(mailaddrPriority('user@*')).toBe(7);
    expect(mailaddrPriority('@example.com')).toBe(5);
    expect(mailaddrPriority('@.example.com')).toBe(3);
    expect(mailaddrPriority('@.com')).toBe(2);
    expect(mailaddrPriority('@ip')).toBe(1);
    expect(mailaddrPriority('@.')).toBe(0);
    expect(mailaddrPriority('1.2.3.4/24')).toBeUndefined();
  });
});

describe('parseAccount', () => {
  it('trims, lower-cases and classifies', () => {
    expect(parseAccount(' User@Example.COM ')).toEqual({ account: 'user@example.com', type: 'email' });
    expect(parseAccount('@.Example.com')).toEqual({ account: '@.example.com', type: 'subdomain' });
    expect(parseAccount('@IP')).toEqual({ account: '@ip', type: 'catchall_ip' });
    expect(parseAccount('192.168.*.*')).toEqual({ account: '192.168.*.*', type: 'wildcard_ip' });
    expect(Object.isFrozen(parseAccount('@.'))).toBe(true);
  });

  it('canonicalises addresses and networks', () => {
    expect(parseAccount('2001:DB8:0:0::1')).toEqual({ account: '2001:db8::1', type: 'ip' });
    expect(parseAccount('::ffff:192.0.2.1')).toEqual({ account: '192.0.2.1', type: 'ip' });
    expect(parseAccount('2001:DB8:0::/32')).toEqual({ account: '2001:db8::/32', type: 'cidr' });
    expect(parseAccount('::ffff:192.0.2.0/120')).toEqual({ account: '192.0.2.0/24', type: 'cidr' });
  });

  it('throws POLICYD_ERR_INVALID_ACCOUNT naming the value and the accepted forms', () => {
    const err = thrown(() => parseAccount('user@localhost'));
    expect(err.code).toBe('POLICYD_ERR_INVALID_ACCOUNT');
    expect(err.value).toBe('user@localhost');
    expect(err.message).toContain('"user@localhost"');
    expect(err.message).toContain('user@example.com');
    expect(err.message).toContain('192.0.2.0/24');
  });

  it('rejects values that are not strings, for callers without types', () => {
    const err = thrown(() => parseAccount(42 as unknown as string));
    expect(err.code).toBe('POLICYD_ERR_INVALID_ACCOUNT');
    expect(err.value).toBe(42);
  });

  it('accepts only the allowed forms', () => {
    const allowed: readonly AccountType[] = ['email', 'domain'];
    expect(parseAccount('@Example.com', allowed)).toEqual({ account: '@example.com', type: 'domain' });
    const err = thrown(() => parseAccount('192.0.2.1', allowed));
    expect(err.code).toBe('POLICYD_ERR_INVALID_ACCOUNT');
    expect(err.message).toContain('"192.0.2.1"');
    expect(err.message).toContain('IP address');
    expect(err.message).toContain('domain (@example.com)');
    expect(err.message).not.toContain('network');
    expect(thrown(() => parseAccount('nonsense', allowed)).message).toContain(
      'e-mail address (user@example.com)',
    );
    expect(thrown(() => parseAccount('user@example.com', [])).message).toContain('no form is accepted');
  });
});
