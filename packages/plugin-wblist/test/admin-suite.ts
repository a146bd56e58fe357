/**
 * The admin API (typed `wblist_admin.py`) run against one backend: every account and entry form, idempotency,
 * moving between lists, deleting, listing, and validation that names the bad value and writes nothing.
 */

import { isPolicydError, type PolicydErrorCode, type WblistList } from '@policyd/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createWblistAdmin, type WblistAdmin } from '../src/index.ts';
import type { WblistBackendFactory, WblistTestBackend } from './harness.ts';

async function rejection(promise: Promise<unknown>): Promise<{ code: PolicydErrorCode; message: string }> {
  try {
    await promise;
  } catch (err) {
    if (isPolicydError(err)) return { code: err.code, message: err.message };
    throw err;
  }
  throw new Error('expected a rejection');
}

/**
 * Register the admin API tests for a backend.
 *
 * @param label - backend name for the test titles
 * @param factory - a fresh, empty backend per test
 */
export function describeWblistAdmin(label: string, factory: WblistBackendFactory): void {
  describe(`wblist admin API (${label})`, () => {
    let backend: WblistTestBackend;
    let admin: WblistAdmin;
    beforeEach(async () => {
      backend = await factory();
      admin = createWblistAdmin(backend.wblist);
    });
    afterEach(async () => {
      await backend.close();
    });

    const brief = async (account: string, direction: 'inbound' | 'outbound' = 'inbound', list?: WblistList) =>
      (await admin.list({ account, direction, ...(list === undefined ? {} : { list }) })).entries.map(
        (e) => `${e.list} ${e.address} ${e.addressPriority}`,
      );

    it('adds every inbound sender form, canonical, with iRedAPD’s priorities', async () => {
      const result = await admin.add({
        account: 'User@Local.TEST',
        list: 'blacklist',
        addresses: [
          'Friend@Ext.Test',
          'friend@*',
          '@ext.test',
          '@.ext.test',
          '@.test',
          '@.',
          '192.0.2.1',
          '2001:DB8:0::1',
          '192.0.2.*',
          '192.0.2.0/24',
          '2001:DB8::/32',
        ],
      });
      expect(result).toMatchObject({ account: 'user@local.test', direction: 'inbound', list: 'blacklist' });
      expect(result.changed).toEqual(result.addresses);
      expect(result.unchanged).toEqual([]);
      expect(await brief('user@local.test')).toEqual([
        'blacklist 192.0.2.* 8',
        'blacklist 192.0.2.0/24 7',
        'blacklist 192.0.2.1 9',
        'blacklist 2001:db8::/32 7',
        'blacklist 2001:db8::1 9',
        'blacklist @. 0',
        'blacklist @.ext.test 3',
        'blacklist @.test 2',
        'blacklist @ext.test 5',
        'blacklist friend@* 7',
        'blacklist friend@ext.test 10',
      ]);
    });

    it.each([
      ['user@local.test', 'user@local.test'],
      ['@local.test', '@local.test'],
      ['@.local.test', '@.local.test'],
      ['@.test', '@.test'],
      ['@.', '@.'],
      [' @Local.Test ', '@local.test'],
    ])('accepts the account %j', async (account, canonical) => {
      const result = await admin.add({ account, list: 'whitelist', addresses: ['@ext.test'] });
      expect(result.account).toBe(canonical);
      expect(await brief(canonical)).toEqual(['whitelist @ext.test 5']);
    });

    it('defaults to the server-wide inbound list (@.), as wblist_admin.py', async () => {
      const result = await admin.add({ list: 'whitelist', addresses: ['192.0.2.1'] });
      expect(result).toMatchObject({ account: '@.', direction: 'inbound' });
      expect((await admin.list()).entries.map((e) => e.address)).toEqual(['192.0.2.1']);
      expect(await brief('@.', 'outbound')).toEqual([]);
    });

    it('is idempotent: adding an existing entry changes nothing', async () => {
      await admin.add({ list: 'blacklist', addresses: ['@spam.test', '192.0.2.1'] });
      const again = await admin.add({
        list: 'blacklist',
        addresses: ['@SPAM.test', '192.0.2.1', '192.0.2.2'],
      });
      expect(again.changed).toEqual(['192.0.2.2']);
      expect(again.unchanged).toEqual(['@spam.test', '192.0.2.1']);
      expect(await brief('@.')).toEqual([
        'blacklist 192.0.2.1 9',
        'blacklist 192.0.2.2 9',
        'blacklist @spam.test 5',
      ]);
    });

    it('drops duplicate addresses in one call, whatever their spelling', async () => {
      const result = await admin.add({
        list: 'whitelist',
        addresses: ['2001:db8::1', '2001:DB8:0:0::1', ' 2001:db8::1 '],
      });
      expect(result.addresses).toEqual(['2001:db8::1']);
      expect(result.changed).toEqual(['2001:db8::1']);
    });

    it('moves an address from one list to the other', async () => {
      await admin.add({ account: '@local.test', list: 'whitelist', addresses: ['@ext.test'] });
      const moved = await admin.add({ account: '@local.test', list: 'blacklist', addresses: ['@ext.test'] });
      expect(moved.changed).toEqual(['@ext.test']);
      expect(await brief('@local.test')).toEqual(['blacklist @ext.test 5']);
    });

    it('keeps inbound and outbound lists apart', async () => {
      await admin.add({
        account: 'john@local.test',
        direction: 'outbound',
        list: 'blacklist',
        addresses: ['@ext.test'],
      });
      await admin.add({ account: 'john@local.test', list: 'whitelist', addresses: ['@ext.test'] });
      expect(await brief('john@local.test', 'outbound')).toEqual(['blacklist @ext.test 5']);
      expect(await brief('john@local.test', 'inbound')).toEqual(['whitelist @ext.test 5']);
    });

    it('deletes only entries on the given list, and reports which', async () => {
      await admin.add({ list: 'whitelist', addresses: ['@a.test', '@b.test'] });
      await admin.add({ list: 'blacklist', addresses: ['@c.test'] });
      const result = await admin.delete({
        list: 'whitelist',
        addresses: ['@A.test', '@c.test', '@never.test'],
      });
      expect(result.changed).toEqual(['@a.test']);
      expect(result.unchanged).toEqual(['@c.test', '@never.test']);
      expect(await brief('@.')).toEqual(['whitelist @b.test 5', 'blacklist @c.test 5']);
    });

    it('never creates an account when deleting (iRedAPD bug B35)', async () => {
      const result = await admin.delete({
        account: 'ghost@local.test',
        list: 'blacklist',
        addresses: ['@x.test'],
      });
      expect(result.changed).toEqual([]);
      expect(await backend.wblist.findAccounts(['ghost@local.test'])).toEqual([]);
      const all = await admin.deleteAll({ account: 'ghost@local.test', list: 'whitelist' });
      expect(all.deleted).toBe(0);
      expect(await backend.wblist.findAccounts(['ghost@local.test'])).toEqual([]);
    });

    it('deletes every entry of one list in one direction', async () => {
      await admin.add({ account: '@local.test', list: 'whitelist', addresses: ['@a.test', '@b.test'] });
      await admin.add({ account: '@local.test', list: 'blacklist', addresses: ['@c.test'] });
      await admin.add({
        account: '@local.test',
        direction: 'outbound',
        list: 'whitelist',
        addresses: ['@d.test'],
      });
      const result = await admin.deleteAll({ account: '@local.test', list: 'whitelist' });
      expect(result).toEqual({ account: '@local.test', direction: 'inbound', list: 'whitelist', deleted: 2 });
      expect(await brief('@local.test')).toEqual(['blacklist @c.test 5']);
      expect(await brief('@local.test', 'outbound')).toEqual(['whitelist @d.test 5']);
    });

    it('lists one list, or everything stored including rows other tools wrote', async () => {
      await admin.add({ list: 'whitelist', addresses: ['@a.test'] });
      await admin.add({ list: 'blacklist', addresses: ['@b.test'] });
      await backend.seedWblist({
        addresses: [{ address: '@odd.test', priority: 4 }],
        entries: [{ direction: 'inbound', account: '@.', address: '@odd.test', wb: '0.5' }],
      });
      expect(await brief('@.', 'inbound', 'whitelist')).toEqual(['whitelist @a.test 5']);
      expect(await brief('@.', 'inbound', 'blacklist')).toEqual(['blacklist @b.test 5']);
      const { entries } = await admin.list({});
      expect(entries.map((e) => [e.address, e.list, e.wb])).toEqual([
        ['@a.test', 'whitelist', 'W'],
        ['@b.test', 'blacklist', 'B'],
        ['@odd.test', 'ignored', '0.5'],
      ]);
    });

    it('lists nothing for an unknown account', async () => {
      expect(await admin.list({ account: 'nobody@local.test', list: 'whitelist' })).toEqual({
        account: 'nobody@local.test',
        direction: 'inbound',
        entries: [],
      });
    });

    it('adds outbound recipients in every recipient form', async () => {
      const result = await admin.add({
        account: 'john@local.test',
        direction: 'outbound',
        list: 'blacklist',
        addresses: ['Bob@Ext.Test', '@ext.test', '@.ext.test', '@.test', '@.'],
      });
      expect(result.changed).toHaveLength(5);
      expect(await brief('john@local.test', 'outbound')).toEqual([
        'blacklist @. 0',
        'blacklist @.ext.test 3',
        'blacklist @.test 2',
        'blacklist @ext.test 5',
        'blacklist bob@ext.test 10',
      ]);
    });

    it('deletes outbound entries of forms it would not add (written by other tools)', async () => {
      await backend.seedWblist({
        addresses: [{ address: '192.0.2.1', priority: 9 }],
        entries: [{ direction: 'outbound', account: 'john@local.test', address: '192.0.2.1', wb: 'B' }],
      });
      const result = await admin.delete({
        account: 'john@local.test',
        direction: 'outbound',
        list: 'blacklist',
        addresses: ['192.0.2.1'],
      });
      expect(result.changed).toEqual(['192.0.2.1']);
      expect(await brief('john@local.test', 'outbound')).toEqual([]);
    });

    describe('validation', () => {
      it.each([
        ['example.com'],
        ['user'],
        ['user@localhost'],
        ['192.0.2.1'],
        ['192.0.2.0/24'],
        ['user@*'],
        ['@ip'],
        ['@.x'],
        [''],
      ])('rejects the account %j, naming it, and writes nothing', async (account) => {
        const error = await rejection(admin.add({ account, list: 'blacklist', addresses: ['@ext.test'] }));
        expect(error.code).toBe('POLICYD_ERR_INVALID_ACCOUNT');
        expect(error.message).toContain(JSON.stringify(account));
        expect((await rejection(admin.list({ account }))).code).toBe('POLICYD_ERR_INVALID_ACCOUNT');
        expect((await rejection(admin.deleteAll({ account, list: 'blacklist' }))).code).toBe(
          'POLICYD_ERR_INVALID_ACCOUNT',
        );
      });

      it.each([
        ['not an address'],
        ['user@localhost'],
        ['192.0.2.1/24'],
        ['192.0.2.256'],
        ['2001:db8::g'],
        ['2001:db8::/129'],
        ['192.0.2.*.1'],
        ['192.0.02.*'],
        ['@ip'],
        ['example.com'],
        [''],
      ])('rejects the inbound sender %j, naming it, and writes nothing', async (address) => {
        const error = await rejection(
          admin.add({ account: 'user@local.test', list: 'blacklist', addresses: ['@ok.test', address] }),
        );
        expect(error.code).toBe('POLICYD_ERR_INVALID_ACCOUNT');
        expect(error.message).toContain(JSON.stringify(address));
        expect((await admin.list({ account: 'user@local.test' })).entries).toEqual([]);
        expect(await backend.wblist.findAccounts(['user@local.test'])).toEqual([]);
      });

      it.each([['192.0.2.1'], ['2001:db8::1'], ['192.0.2.*'], ['192.0.2.0/24'], ['bob@*']])(
        'rejects the outbound recipient %j, which could never match',
        async (address) => {
          const error = await rejection(
            admin.add({
              account: 'john@local.test',
              direction: 'outbound',
              list: 'blacklist',
              addresses: [address],
            }),
          );
          expect(error.code).toBe('POLICYD_ERR_INVALID_ACCOUNT');
          expect(error.message).toContain(JSON.stringify(address));
          expect((await admin.list({ account: 'john@local.test', direction: 'outbound' })).entries).toEqual(
            [],
          );
        },
      );

      it('rejects a delete with an invalid address', async () => {
        await admin.add({ list: 'blacklist', addresses: ['@ext.test'] });
        const error = await rejection(
          admin.delete({ list: 'blacklist', addresses: ['@ext.test', 'bad value'] }),
        );
        expect(error).toMatchObject({ code: 'POLICYD_ERR_INVALID_ACCOUNT' });
        expect(error.message).toContain('"bad value"');
        expect(await brief('@.')).toEqual(['blacklist @ext.test 5']);
      });

      it('requires at least one address to add or delete', async () => {
        for (const call of [admin.add, admin.delete]) {
          const error = await rejection(call({ list: 'whitelist', addresses: [] }));
          expect(error.code).toBe('POLICYD_ERR_INVALID_OPTION');
          expect(error.message).toContain('addresses');
        }
      });

      it('rejects an unknown direction or list, naming it', async () => {
        const direction = await rejection(
          // @ts-expect-error: a direction that does not exist
          admin.add({ direction: 'sideways', list: 'whitelist', addresses: ['@a.test'] }),
        );
        expect(direction).toMatchObject({ code: 'POLICYD_ERR_INVALID_OPTION' });
        expect(direction.message).toContain('"sideways"');
        // @ts-expect-error: a list that does not exist
        const list = await rejection(admin.deleteAll({ list: 'greylist' }));
        expect(list).toMatchObject({ code: 'POLICYD_ERR_INVALID_OPTION' });
        expect(list.message).toContain('"greylist"');
        // @ts-expect-error: a list that does not exist
        expect((await rejection(admin.list({ list: 'graylist' }))).code).toBe('POLICYD_ERR_INVALID_OPTION');
        expect(await brief('@.')).toEqual([]);
      });
    });
  });
}
