import { describe, expect, it } from 'vitest';
import { domainOf, isDomain, isEmail, localPartOf, stripExtension } from './address.ts';

describe('isEmail (iRedAPD predicate)', () => {
  it.each([
    'user@example.com',
    'user@example.com>',
    'x@y.com.',
    'ü@exämple.com',
    '-x@y.com',
    'User@Ex_ample.com',
    '#x@y.com',
    'a.b+c=d/e&f#g@sub.example.co.uk',
    ' user@example.com ',
    'user@example.museum',
    'user@example.c0m',
    // Prefix match: a TLD longer than 15 characters still matches its first 15.
    'user@example.abcdefghijklmnop',
  ])('accepts %j', (value) => {
    expect(isEmail(value)).toBe(true);
  });

  it.each([
    "o'brien@x.com",
    'user@localhost',
    'user@x.c',
    'a b@x.com',
    '',
    '   ',
    'john',
    '@example.com',
    '.x@y.com',
    'user@.example.com',
    'us~er@example.com',
    'us!er@example.com',
    'us$er@example.com',
    'us%er@example.com',
    'us^er@example.com',
    'us*er@example.com',
    'us(er)@example.com',
    'user@example.com (comment)',
  ])('refuses %j', (value) => {
    expect(isEmail(value)).toBe(false);
  });
});

describe('isDomain', () => {
  it.each(['example.com', 'sub.example.co.uk', 'exämple.com', ' example.com '])('accepts %j', (value) => {
    expect(isDomain(value)).toBe(true);
  });

  it.each(['localhost', 'x.c', '', 'example.c0m', '.example.com'])('refuses %j', (value) => {
    expect(isDomain(value)).toBe(false);
  });
});

describe('domainOf and localPartOf', () => {
  it.each([
    ['user@example.com', 'user', 'example.com'],
    ['a@b@example.com', 'a', 'b@example.com'],
    ['john', 'john', 'john'],
    ['', '', ''],
    ['@example.com', '', 'example.com'],
  ])('split %j at the first @', (value, local, domain) => {
    expect(localPartOf(value)).toBe(local);
    expect(domainOf(value)).toBe(domain);
  });
});

describe('stripExtension', () => {
  it.each<[string, readonly string[] | undefined, string]>([
    ['user+tag@example.com', undefined, 'user@example.com'],
    ['a+b+c@x.com', ['+'], 'a@x.com'],
    ['a-b+c@x.com', ['+', '-'], 'a-b@x.com'],
    ['a-b+c@x.com', ['-', '+'], 'a@x.com'],
    ['a-b@x.com', ['+', '-'], 'a@x.com'],
    ['user@sub-domain.com', ['-'], 'user@sub-domain.com'],
    ['user+tag@example.com', ['', '+'], 'user@example.com'],
    ['user+tag@example.com', [], 'user+tag@example.com'],
    ['+tag@example.com', ['+'], '+tag@example.com'],
    ['user+tag@localhost', ['+'], 'user+tag@localhost'],
    ['', ['+'], ''],
  ])('strips %j with %j to %j', (address, delimiters, want) => {
    expect(stripExtension(address, delimiters)).toBe(want);
  });
});
