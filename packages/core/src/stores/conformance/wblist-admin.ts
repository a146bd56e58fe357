/**
 * Wblist conformance, admin side: add, remove, remove-all, list, account look-up, validation.
 */

import { describe, expect, it } from 'vitest';
import type { WblistSeed } from '../seed.ts';
import type { WblistStore } from '../wblist-store.ts';
import { expectPolicydError, type SeedableStoreHarness } from './harness.ts';
import { briefMatch as brief } from './wblist-lookup.ts';

/**
 * Register the admin tests of the wblist conformance suite.
 *
 * @param h - the current harness (from `useHarness`)
 */
export function describeWblistAdmin(h: () => SeedableStoreHarness<WblistStore, WblistSeed>): void {
  describe('admin', () => {
    it('adds entries with canonical values and MAILADDR priorities', async () => {
      const store = h().store;
      const added = await store.add({
        account: ' User@Example.COM ',
        direction: 'inbound',
        list: 'blacklist',
        addresses: [
          'Spammer@Example.NET',
          '2001:DB8::/32',
          '198.51.100.*',
          '192.0.2.1',
          'john@*',
          '@.example.org',
        ],
      });
      expect(added).toEqual([
        'spammer@example.net',
        '2001:db8::/32',
        '198.51.100.*',
        '192.0.2.1',
        'john@*',
        '@.example.org',
      ]);
      expect(await store.findAccounts(['user@example.com'])).toEqual([
        { account: 'user@example.com', priority: 10 },
      ]);
      expect(await store.list({ account: 'user@example.com', direction: 'inbound' })).toEqual([
        { address: '192.0.2.1', addressPriority: 9, list: 'blacklist', wb: 'B' },
        { address: '198.51.100.*', addressPriority: 8, list: 'blacklist', wb: 'B' },
        { address: '2001:db8::/32', addressPriority: 7, list: 'blacklist', wb: 'B' },
        { address: '@.example.org', addressPriority: 3, list: 'blacklist', wb: 'B' },
        { address: 'john@*', addressPriority: 7, list: 'blacklist', wb: 'B' },
        { address: 'spammer@example.net', addressPriority: 10, list: 'blacklist', wb: 'B' },
      ]);
      const found = await store.lookup({
        inbound: {
          accounts: ['user@example.com'],
          senders: ['spammer@example.net'],
          clientAddress: '2001:db8::1',
        },
      });
      expect(found.inbound.map(brief)).toEqual([
        'user@example.com(10) blacklist spammer@example.net(10)',
        'user@example.com(10) blacklist 2001:db8::/32(7) net',
      ]);
    });

    it('gives accounts their MAILADDR priority: @. 0, @.tld 2, @.domain 3, @domain 5', async () => {
      const store = h().store;
      for (const account of ['@.', '@.com', '@.example.com', '@example.com']) {
        await store.add({ account, direction: 'outbound', list: 'whitelist', addresses: ['@.'] });
      }
      expect(
        await store.findAccounts(['@.', '@.com', '@.example.com', '@example.com', 'none@example.com']),
      ).toEqual([
        { account: '@example.com', priority: 5 },
        { account: '@.example.com', priority: 3 },
        { account: '@.com', priority: 2 },
        { account: '@.', priority: 0 },
      ]);
    });

    it('keeps the stored priority of existing accounts and addresses', async () => {
      await h().seed({
        accounts: [{ account: 'user@example.com', priority: 42 }],
        addresses: [{ address: '@example.net', priority: 3 }],
      });
      await h().store.add({
        account: 'user@example.com',
        direction: 'inbound',
        list: 'whitelist',
        addresses: ['@example.net'],
      });
      const found = await h().store.lookup({
        inbound: { accounts: ['user@example.com'], senders: ['@example.net'] },
      });
      expect(found.inbound.map(brief)).toEqual(['user@example.com(42) whitelist @example.net(3)']);
    });

    it('is idempotent and ignores duplicate addresses', async () => {
      const store = h().store;
      const change = {
        account: '@.',
        direction: 'inbound',
        list: 'whitelist',
        addresses: ['a@example.net', 'A@example.net', 'a@example.net'],
      } as const;
      expect(await store.add(change)).toEqual(['a@example.net']);
      expect(await store.add(change)).toEqual([]);
      expect(await store.list({ account: '@.', direction: 'inbound' })).toHaveLength(1);
    });

    it('moves an address between whitelist and blacklist', async () => {
      const store = h().store;
      const ref = { account: '@example.com', direction: 'inbound', addresses: ['x@example.net'] } as const;
      await store.add({ ...ref, list: 'whitelist' });
      expect(await store.add({ ...ref, list: 'blacklist' })).toEqual(['x@example.net']);
      expect(await store.list({ account: '@example.com', direction: 'inbound' })).toEqual([
        { address: 'x@example.net', addressPriority: 10, list: 'blacklist', wb: 'B' },
      ]);
      expect(await store.add({ ...ref, list: 'whitelist' })).toEqual(['x@example.net']);
      expect((await store.list({ account: '@example.com', direction: 'inbound' }))[0]?.list).toBe(
        'whitelist',
      );
    });

    it('removes only entries on the given list and reports them', async () => {
      const store = h().store;
      await store.add({
        account: '@.',
        direction: 'inbound',
        list: 'whitelist',
        addresses: ['w@example.net'],
      });
      await store.add({
        account: '@.',
        direction: 'inbound',
        list: 'blacklist',
        addresses: ['b@example.net'],
      });
      await store.add({
        account: '@.',
        direction: 'outbound',
        list: 'whitelist',
        addresses: ['b@example.net'],
      });
      const removed = await store.remove({
        account: '@.',
        direction: 'inbound',
        list: 'whitelist',
        addresses: ['w@example.net', 'B@example.net', 'unknown@example.net'],
      });
      expect(removed).toEqual(['w@example.net']);
      expect((await store.list({ account: '@.', direction: 'inbound' })).map((e) => e.address)).toEqual([
        'b@example.net',
      ]);
      expect(await store.list({ account: '@.', direction: 'outbound' })).toHaveLength(1);
    });

    it('removes all entries of one list in one direction', async () => {
      const store = h().store;
      await store.add({
        account: '@.',
        direction: 'inbound',
        list: 'whitelist',
        addresses: ['a@x.test', 'b@x.test'],
      });
      await store.add({ account: '@.', direction: 'inbound', list: 'blacklist', addresses: ['c@x.test'] });
      await store.add({ account: '@.', direction: 'outbound', list: 'whitelist', addresses: ['d@x.test'] });
      expect(await store.removeAll({ account: '@.', direction: 'inbound', list: 'whitelist' })).toBe(2);
      expect(await store.removeAll({ account: '@.', direction: 'inbound', list: 'whitelist' })).toBe(0);
      expect((await store.list({ account: '@.', direction: 'inbound' })).map((e) => e.address)).toEqual([
        'c@x.test',
      ]);
      expect(await store.list({ account: '@.', direction: 'outbound' })).toHaveLength(1);
    });

    it('never creates accounts when removing (iRedAPD bug B35)', async () => {
      const store = h().store;
      const account = 'nobody@example.com';
      expect(
        await store.remove({
          account,
          direction: 'inbound',
          list: 'blacklist',
          addresses: ['x@example.net'],
        }),
      ).toEqual([]);
      expect(await store.removeAll({ account, direction: 'outbound', list: 'whitelist' })).toBe(0);
      expect(await store.list({ account, direction: 'inbound' })).toEqual([]);
      expect(await store.findAccounts([account])).toEqual([]);
    });

    it('lists rows with other wb values as ignored', async () => {
      await h().seed({
        entries: [{ direction: 'inbound', account: '@.', address: 'a@example.net', wb: '5' }],
      });
      expect(await h().store.list({ account: '@.', direction: 'inbound' })).toEqual([
        { address: 'a@example.net', addressPriority: 7, list: 'ignored', wb: '5' },
      ]);
    });

    it('rejects invalid accounts and addresses, naming the value, and writes nothing', async () => {
      const store = h().store;
      await expectPolicydError(
        store.add({
          account: 'example.com',
          direction: 'inbound',
          list: 'whitelist',
          addresses: ['a@x.test'],
        }),
        'POLICYD_ERR_INVALID_ACCOUNT',
        'example.com',
      );
      await expectPolicydError(
        store.add({
          account: '@.',
          direction: 'inbound',
          list: 'whitelist',
          addresses: ['a@x.test', '1.2.3.4/24'],
        }),
        'POLICYD_ERR_INVALID_ACCOUNT',
        '1.2.3.4/24',
      );
      await expectPolicydError(
        store.remove({
          account: '@.',
          direction: 'inbound',
          list: 'whitelist',
          addresses: ['user@localhost'],
        }),
        'POLICYD_ERR_INVALID_ACCOUNT',
        'user@localhost',
      );
      await expectPolicydError(
        store.removeAll({ account: 'nope', direction: 'inbound', list: 'whitelist' }),
        'POLICYD_ERR_INVALID_ACCOUNT',
      );
      await expectPolicydError(
        store.list({ account: '', direction: 'inbound' }),
        'POLICYD_ERR_INVALID_ACCOUNT',
      );
      expect(await store.list({ account: '@.', direction: 'inbound' })).toEqual([]);
      expect(await store.findAccounts(['@.'])).toEqual([]);
    });

    it('rejects an unknown direction or list', async () => {
      const store = h().store;
      const bad = {
        account: '@.',
        direction: 'sideways',
        list: 'whitelist',
        addresses: [],
      } as unknown as Parameters<WblistStore['add']>[0];
      await expectPolicydError(store.add(bad), 'POLICYD_ERR_INVALID_OPTION', 'sideways');
      const badList = { account: '@.', direction: 'inbound', list: 'greylist' } as unknown as Parameters<
        WblistStore['removeAll']
      >[0];
      await expectPolicydError(store.removeAll(badList), 'POLICYD_ERR_INVALID_OPTION', 'greylist');
    });

    it('adds one entry exactly once under concurrent calls', async () => {
      const store = h().store;
      const change = {
        account: '@.',
        direction: 'inbound',
        list: 'blacklist',
        addresses: ['x@example.net'],
      } as const;
      const results = await Promise.all(Array.from({ length: 20 }, () => store.add(change)));
      expect(results.filter((r) => r.length === 1)).toHaveLength(1);
      expect(await store.list({ account: '@.', direction: 'inbound' })).toHaveLength(1);
    });
  });
}
