/**
 * Greylisting conformance, admin side: settings, whitelists, whitelist domains and their generated networks.
 */

import { describe, expect, it } from 'vitest';
import type { GreylistStore, GreylistTriplet } from '../greylist-store.ts';
import type { GreylistSeed } from '../seed.ts';
import { expectPolicydError, type SeedableStoreHarness, seconds, T0 } from './harness.ts';

const attempt = (clientKey: string, sender = 'a@example.net'): GreylistTriplet => ({
  sender,
  senderDomain: 'example.net',
  recipient: 'user@example.com',
  recipientDomain: 'example.com',
  clientKey,
});

const times = {
  now: T0,
  blockExpiresAt: T0 + seconds(900),
  unauthExpiresAt: T0 + seconds(86_400),
  authExpiresAt: T0 + seconds(30 * 86_400),
};

/**
 * Register the admin tests of the greylisting conformance suite.
 *
 * @param h - the current harness (from `useHarness`)
 */
export function describeGreylistAdmin(h: () => SeedableStoreHarness<GreylistStore, GreylistSeed>): void {
  describe('settings', () => {
    it('stores canonical values with ACCOUNT_PRIORITIES (networks 70) and replaces on repeat', async () => {
      const store = h().store;
      expect(
        await store.setSetting({ account: '@Example.COM', sender: '2001:DB8::/32', active: true }),
      ).toEqual({
        account: '@example.com',
        priority: 60,
        sender: '2001:db8::/32',
        senderPriority: 70,
        active: true,
        comment: '',
      });
      await store.setSetting({ account: '@.', sender: '@.', active: true });
      await store.setSetting({ account: 'user@example.com', sender: '192.0.2.1', active: true });
      await store.setSetting({ account: '@.example.com', sender: '@.com', active: true });
      await store.setSetting({ account: '@.com', sender: '198.51.100.*', active: true });
      const replaced = await store.setSetting({
        account: '@example.com',
        sender: '2001:db8::/32',
        active: false,
        comment: 'no',
      });
      expect(replaced).toMatchObject({ active: false, comment: 'no' });
      expect(
        (await store.listSettings()).map((s) => [s.account, s.priority, s.sender, s.senderPriority]),
      ).toEqual([
        ['user@example.com', 100, '192.0.2.1', 80],
        ['@example.com', 60, '2001:db8::/32', 70],
        ['@.example.com', 50, '@.com', 40],
        ['@.com', 40, '198.51.100.*', 70],
        ['@.', 0, '@.', 0],
      ]);
      expect(await store.listSettings({ account: '@EXAMPLE.com' })).toEqual([replaced]);
    });

    it('deletes a setting and reports whether it existed', async () => {
      const store = h().store;
      await store.setSetting({ account: '@.', sender: '@.', active: true });
      expect(await store.deleteSetting({ account: '@.', sender: '@.' })).toBe(true);
      expect(await store.deleteSetting({ account: '@.', sender: '@.' })).toBe(false);
      expect(await store.listSettings()).toEqual([]);
    });

    it('is what loadContext returns', async () => {
      const store = h().store;
      const setting = await store.setSetting({ account: 'user@example.com', sender: '@.', active: false });
      const context = await store.loadContext({
        recipients: ['user@example.com'],
        senders: [],
        clientAddress: '192.0.2.1',
        clientKey: '192.0.2.1',
        now: T0,
      });
      expect(context.settings).toEqual([setting]);
    });

    it('rejects account and sender forms greylisting does not use, naming the value', async () => {
      const store = h().store;
      await expectPolicydError(
        store.setSetting({ account: '192.0.2.1', sender: '@.', active: true }),
        'POLICYD_ERR_INVALID_ACCOUNT',
        '192.0.2.1',
      );
      await expectPolicydError(
        store.setSetting({ account: '@.', sender: 'john@*', active: true }),
        'POLICYD_ERR_INVALID_ACCOUNT',
        'john@*',
      );
      await expectPolicydError(
        store.deleteSetting({ account: 'not an account', sender: '@.' }),
        'POLICYD_ERR_INVALID_ACCOUNT',
        'not an account',
      );
      await expectPolicydError(store.listSettings({ account: 'x' }), 'POLICYD_ERR_INVALID_ACCOUNT', 'x');
      expect(await store.listSettings()).toEqual([]);
    });
  });

  describe('whitelists', () => {
    it('adds once, lists, and removes manual rows', async () => {
      const store = h().store;
      expect(await store.addWhitelist({ account: '@.', sender: 'Friend@Example.NET' })).toBe(true);
      expect(
        await store.addWhitelist({ account: '@.', sender: 'friend@example.net', comment: 'again' }),
      ).toBe(false);
      expect(
        await store.addWhitelist({
          account: 'user@example.com',
          sender: 'x@example.org',
          comment: 'AUTO-WHITELISTED',
        }),
      ).toBe(true);
      expect(await store.addWhitelist({ account: '@.', sender: '192.0.2.0/24' })).toBe(true);
      expect(await store.listWhitelists()).toEqual([
        { account: '@.', sender: '192.0.2.0/24', comment: '', source: 'manual' },
        { account: '@.', sender: 'friend@example.net', comment: '', source: 'manual' },
        {
          account: 'user@example.com',
          sender: 'x@example.org',
          comment: 'AUTO-WHITELISTED',
          source: 'manual',
        },
      ]);
      expect(await store.listWhitelists({ account: 'User@example.com' })).toHaveLength(1);
      expect(await store.removeWhitelist({ account: '@.', sender: 'FRIEND@example.net' })).toBe(true);
      expect(await store.removeWhitelist({ account: '@.', sender: 'friend@example.net' })).toBe(false);
      expect(await store.listWhitelists({ source: 'manual' })).toHaveLength(2);
      expect(await store.listWhitelists({ source: 'spf' })).toEqual([]);
    });

    it('lists manual rows before generated ones', async () => {
      const store = h().store;
      await store.replaceDomainNetworks('example.org', ['203.0.113.0/24']);
      await store.addWhitelist({ account: 'user@example.com', sender: '@example.org' });
      expect((await store.listWhitelists()).map((w) => [w.source, w.sender])).toEqual([
        ['manual', '@example.org'],
        ['spf', '203.0.113.0/24'],
      ]);
      expect(await store.listWhitelists({ account: 'user@example.com', source: 'spf' })).toEqual([]);
    });

    it('rejects invalid accounts and senders', async () => {
      const store = h().store;
      await expectPolicydError(
        store.addWhitelist({ account: '@.', sender: '1.2.3.4/24' }),
        'POLICYD_ERR_INVALID_ACCOUNT',
        '1.2.3.4/24',
      );
      await expectPolicydError(
        store.removeWhitelist({ account: '@ip', sender: '@.' }),
        'POLICYD_ERR_INVALID_ACCOUNT',
        '@ip',
      );
      expect(await store.listWhitelists()).toEqual([]);
    });
  });

  describe('whitelist domains', () => {
    it('adds once, lists sorted, removes', async () => {
      const store = h().store;
      expect(await store.addWhitelistDomain('Outlook.com')).toBe(true);
      expect(await store.addWhitelistDomain('outlook.com')).toBe(false);
      expect(await store.addWhitelistDomain('163.com')).toBe(true);
      expect(await store.addWhitelistDomain('qq.com')).toBe(true);
      expect(await store.listWhitelistDomains()).toEqual(['163.com', 'outlook.com', 'qq.com']);
      expect(await store.removeWhitelistDomain('QQ.com')).toEqual({ removed: true, networksRemoved: 0 });
      expect(await store.removeWhitelistDomain('qq.com')).toEqual({ removed: false, networksRemoved: 0 });
      expect(await store.listWhitelistDomains()).toEqual(['163.com', 'outlook.com']);
    });

    it('rejects values that are not bare domain names', async () => {
      const store = h().store;
      for (const bad of ['@example.com', 'localhost', '', 'a b.com']) {
        await expectPolicydError(store.addWhitelistDomain(bad), 'POLICYD_ERR_INVALID_ACCOUNT', bad);
      }
      await expectPolicydError(
        store.replaceDomainNetworks('@x.com', []),
        'POLICYD_ERR_INVALID_ACCOUNT',
        '@x.com',
      );
      expect(await store.listWhitelistDomains()).toEqual([]);
    });

    it('removes the generated rows with the domain, in both tables (iRedAPD bug B23)', async () => {
      const store = h().store;
      await store.addWhitelistDomain('example.org');
      await store.replaceDomainNetworks('example.org', ['203.0.113.0/24', '2001:db8::/32']);
      await store.replaceDomainNetworks('example.net', ['198.51.100.0/24']);
      await h().seed({
        whitelists: [
          { account: '@.', sender: '192.0.2.0/24', comment: 'AUTO-UPDATE: example.org', source: 'manual' },
          { account: '@.', sender: '192.0.2.99', comment: 'mine', source: 'manual' },
        ],
      });
      expect(await store.removeWhitelistDomain('example.org')).toEqual({ removed: true, networksRemoved: 3 });
      expect((await store.listWhitelists()).map((w) => [w.source, w.sender])).toEqual([
        ['manual', '192.0.2.99'],
        ['spf', '198.51.100.0/24'],
      ]);
    });
  });

  describe('replaceDomainNetworks', () => {
    it('inserts generated rows that loadContext matches', async () => {
      const store = h().store;
      const result = await store.replaceDomainNetworks('Example.org', [
        '203.0.113.0/24',
        '2001:DB8::/32',
        '192.0.2.5',
      ]);
      expect(result).toEqual({ deleted: 0, inserted: 3, trackingDeleted: 0 });
      expect(await store.listWhitelists({ source: 'spf' })).toEqual([
        { account: '@.', sender: '192.0.2.5', comment: 'AUTO-UPDATE: example.org', source: 'spf' },
        { account: '@.', sender: '2001:db8::/32', comment: 'AUTO-UPDATE: example.org', source: 'spf' },
        { account: '@.', sender: '203.0.113.0/24', comment: 'AUTO-UPDATE: example.org', source: 'spf' },
      ]);
      const context = await store.loadContext({
        recipients: ['user@example.com', '@.'],
        senders: ['sender@example.org', '@.', '203.0.113.9'],
        clientAddress: '203.0.113.9',
        clientKey: '203.0.113.9',
        now: T0,
      });
      expect(context.whitelist).toEqual([
        { account: '@.', sender: '203.0.113.0/24', source: 'spf', byNetwork: true },
      ]);
    });

    it('replaces rather than appends, and keeps manual rows', async () => {
      const store = h().store;
      await store.addWhitelist({ account: '@.', sender: '203.0.113.0/24', comment: 'by hand' });
      await store.replaceDomainNetworks('example.org', ['203.0.113.0/24', '198.51.100.0/24']);
      const result = await store.replaceDomainNetworks('example.org', ['198.51.100.0/24', '192.0.2.0/25']);
      expect(result).toEqual({ deleted: 2, inserted: 2, trackingDeleted: 0 });
      expect((await store.listWhitelists()).map((w) => [w.source, w.sender, w.comment])).toEqual([
        ['manual', '203.0.113.0/24', 'by hand'],
        ['spf', '192.0.2.0/25', 'AUTO-UPDATE: example.org'],
        ['spf', '198.51.100.0/24', 'AUTO-UPDATE: example.org'],
      ]);
      expect(await store.replaceDomainNetworks('example.org', [])).toEqual({
        deleted: 2,
        inserted: 0,
        trackingDeleted: 0,
      });
      expect(await store.listWhitelists({ source: 'spf' })).toEqual([]);
      expect(await store.listWhitelists({ source: 'manual' })).toHaveLength(1);
    });

    it('stores a value shared by two domains once, under the first', async () => {
      const store = h().store;
      await store.replaceDomainNetworks('first.test', ['192.0.2.0/24']);
      expect(
        await store.replaceDomainNetworks('second.test', ['192.0.2.0/24', '192.0.2.0/24', '198.51.100.1']),
      ).toEqual({ deleted: 0, inserted: 1, trackingDeleted: 0 });
      expect((await store.listWhitelists({ source: 'spf' })).map((w) => [w.sender, w.comment])).toEqual([
        ['192.0.2.0/24', 'AUTO-UPDATE: first.test'],
        ['198.51.100.1', 'AUTO-UPDATE: second.test'],
      ]);
    });

    it('clears the tracking rows of exactly the given values', async () => {
      const store = h().store;
      await store.recordAttempt(attempt('192.0.2.1'), times);
      await store.recordAttempt(attempt('192.0.2.1', 'b@example.net'), times);
      await store.recordAttempt(attempt('192.0.2.2'), times);
      await store.recordAttempt(attempt('192.0.2.0/24'), times);
      const result = await store.replaceDomainNetworks('example.net', ['192.0.2.1', '192.0.2.0/24']);
      expect(result).toEqual({ deleted: 0, inserted: 2, trackingDeleted: 3 });
      expect(await store.findTriplets('192.0.2.1')).toEqual([]);
      expect(await store.findTriplets('192.0.2.0/24')).toEqual([]);
      expect(await store.findTriplets('192.0.2.2')).toHaveLength(1);
    });

    it('rejects a value that is not an IP or a network and changes nothing', async () => {
      const store = h().store;
      await store.replaceDomainNetworks('example.org', ['192.0.2.0/24']);
      await expectPolicydError(
        store.replaceDomainNetworks('example.org', ['198.51.100.0/24', '@example.org']),
        'POLICYD_ERR_INVALID_ACCOUNT',
        '@example.org',
      );
      await expectPolicydError(
        store.replaceDomainNetworks('example.org', ['192.0.2.1/24']),
        'POLICYD_ERR_INVALID_ACCOUNT',
        '192.0.2.1/24',
      );
      expect((await store.listWhitelists()).map((w) => w.sender)).toEqual(['192.0.2.0/24']);
    });
  });
}
