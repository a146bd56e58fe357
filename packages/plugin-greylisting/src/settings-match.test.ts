import { type GreylistSetting, policyAddresses } from '@policyd/core';
import { describe, expect, it } from 'vitest';
import { compareSettings, findSetting } from './settings-match.ts';

const setting = (sender: string, senderPriority = 0, account = '@.', priority = 0): GreylistSetting => ({
  account,
  priority,
  sender,
  senderPriority,
  active: true,
  comment: '',
});

const senders = policyAddresses('bob@mail.example.net');

describe('findSetting', () => {
  it.each([
    ['bob@mail.example.net', 'sender'],
    ['@mail.example.net', 'sender'],
    ['@.example.net', 'sender'],
    ['@.', 'sender'],
    ['@MAIL.Example.NET', 'sender'],
    ['192.0.2.10', 'client-ip'],
    ['192.0.2.0/24', 'network'],
    ['192.0.0.0/16', 'network'],
    ['192.0.2.*', 'wildcard-ip'],
    ['*.0.*.10', 'wildcard-ip'],
  ] as const)('matches %s by %s', (sender, via) => {
    expect(findSetting([setting(sender)], senders, '192.0.2.10')?.via).toBe(via);
  });

  it.each([
    '@example.net',
    'alice@mail.example.net',
    '192.0.2.11',
    '192.0.3.0/24',
    '192.0.2.1/24',
    '192.0.3.*',
    '2001:db8::/32',
  ])('does not match %s', (sender) => {
    expect(findSetting([setting(sender)], senders, '192.0.2.10')).toBeUndefined();
  });

  it('matches IPv6 addresses and networks in any spelling', () => {
    expect(findSetting([setting('2001:DB8:0::1')], senders, '2001:db8::1')?.via).toBe('client-ip');
    expect(findSetting([setting('2001:DB8:0:0:0:0:0:0/32')], senders, '2001:db8::1')?.via).toBe('network');
    expect(findSetting([setting('192.0.2.*')], senders, '2001:db8::1')).toBeUndefined();
  });

  it('returns the first match in the given order', () => {
    const rows = [setting('@other.example', 60), setting('192.0.2.0/24', 0), setting('@.', 0)];
    expect(findSetting(rows, senders, '192.0.2.10')?.setting.sender).toBe('192.0.2.0/24');
  });
});

describe('compareSettings', () => {
  it('orders by priority, sender priority, account, sender', () => {
    const rows = [
      setting('@.', 0, '@.', 0),
      setting('b', 60, '@x.example', 60),
      setting('a', 60, '@x.example', 60),
      setting('@.', 100, '@.', 0),
      setting('@.', 0, 'u@x.example', 100),
      setting('@.', 0, '@a.example', 60),
    ];
    expect([...rows].sort(compareSettings).map((r) => `${r.account} ${r.sender}`)).toEqual([
      'u@x.example @.',
      '@x.example a',
      '@x.example b',
      '@a.example @.',
      '@. @.',
      '@. @.',
    ]);
  });
});
