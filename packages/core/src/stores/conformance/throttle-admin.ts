/**
 * Throttle conformance, settings side: look-ups for decisions, admin settings and counters.
 */

import { describe, expect, it } from 'vitest';
import type { ThrottleSettingInput, ThrottleStore } from '../throttle-store.ts';
import { expectPolicydError, type StoreHarness, T0 } from './harness.ts';

/**
 * Register the settings and counter-admin tests of the throttle conformance suite.
 *
 * @param h - the current harness (from `useHarness`)
 */
export function describeThrottleAdmin(h: () => StoreHarness<ThrottleStore>): void {
  describe('settings', () => {
    it('fills in defaults and canonical accounts, and updates in place', async () => {
      const store = h().store;
      const created = await store.setSetting({
        account: ' User@Example.COM',
        kind: 'outbound',
        periodSeconds: 60,
      });
      expect(created).toEqual({
        id: created.id,
        account: 'user@example.com',
        kind: 'outbound',
        priority: 100,
        periodSeconds: 60,
        maxMessageSizeBytes: -1,
        maxMessages: -1,
        maxQuotaBytes: -1,
        maxRecipients: -1,
      });
      const updated = await store.setSetting({
        account: 'user@example.com',
        kind: 'outbound',
        periodSeconds: 3600,
        priority: 7,
        maxMessageSizeBytes: 10_000_000,
        maxMessages: 100,
        maxQuotaBytes: 0,
        maxRecipients: 20,
      });
      expect(updated).toEqual({
        id: created.id,
        account: 'user@example.com',
        kind: 'outbound',
        priority: 7,
        periodSeconds: 3600,
        maxMessageSizeBytes: 10_000_000,
        maxMessages: 100,
        maxQuotaBytes: 0,
        maxRecipients: 20,
      });
      const inbound = await store.setSetting({
        account: 'user@example.com',
        kind: 'inbound',
        periodSeconds: 60,
      });
      expect(inbound.id).not.toBe(created.id);
      expect(await store.listSettings({ account: 'USER@example.com' })).toEqual([inbound, updated]);
    });

    it('gives each account form its ACCOUNT_PRIORITIES priority', async () => {
      const store = h().store;
      const forms: readonly [string, number][] = [
        ['@.', 0],
        ['@ip', 0],
        ['@.com', 40],
        ['@.example.com', 50],
        ['@example.com', 60],
        ['192.0.2.*', 70],
        ['192.0.2.0/24', 70],
        ['2001:DB8::1', 80],
        ['spam@*', 90],
      ];
      for (const [account] of forms) await store.setSetting({ account, kind: 'external', periodSeconds: 60 });
      const found = await store.listSettings({ kind: 'external' });
      expect(found.map((s) => [s.account, s.priority])).toEqual(
        [...forms]
          .map(([a, p]): [string, number] => [a.toLowerCase(), p])
          .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
      );
    });

    it('finds settings per query, by priority, then account, then id', async () => {
      const store = h().store;
      const input = (
        account: string,
        kind: ThrottleSettingInput['kind'] = 'outbound',
      ): ThrottleSettingInput => ({
        account,
        kind,
        periodSeconds: 60,
      });
      const global = await store.setSetting(input('@.'));
      const perIp = await store.setSetting(input('@ip'));
      const domain = await store.setSetting(input('@example.com'));
      const user = await store.setSetting(input('user@example.com'));
      const ip = await store.setSetting(input('192.0.2.1'));
      const rcpt = await store.setSetting(input('rcpt@example.net', 'inbound'));
      await store.setSetting(input('other@example.com'));
      const [outbound, inbound, empty] = await store.findSettings([
        {
          kind: 'outbound',
          accounts: ['192.0.2.1', '@ip', 'user@example.com', '@example.com', '@.', 'rcpt@example.net'],
        },
        { kind: 'inbound', accounts: ['192.0.2.1', '@ip', 'rcpt@example.net', '@.'] },
        { kind: 'external', accounts: ['user@example.com'] },
      ]);
      expect(outbound).toEqual([user, ip, domain, global, perIp]);
      expect(inbound).toEqual([rcpt]);
      expect(empty).toEqual([]);
      expect(await store.findSettings([])).toEqual([]);
    });

    it('deletes a setting with its counters', async () => {
      const store = h().store;
      const s = await store.setSetting({ account: '@.', kind: 'outbound', periodSeconds: 60 });
      await store.consume(
        [{ settingId: s.id, trackingAccount: 'a@x.test', periodSeconds: 60, messages: 1, bytes: 1 }],
        T0,
      );
      expect(await store.deleteSetting('@.', 'inbound')).toBe(false);
      expect(await store.deleteSetting('@.', 'outbound')).toBe(true);
      expect(await store.deleteSetting('@.', 'outbound')).toBe(false);
      expect(await store.listSettings()).toEqual([]);
      expect(await store.listCounters({ settingId: s.id })).toEqual([]);
    });

    it('rejects invalid settings, naming the value', async () => {
      const store = h().store;
      const base: ThrottleSettingInput = { account: '@.', kind: 'outbound', periodSeconds: 60 };
      await expectPolicydError(
        store.setSetting({ ...base, account: 'nobody' }),
        'POLICYD_ERR_INVALID_ACCOUNT',
        'nobody',
      );
      await expectPolicydError(
        store.setSetting({ ...base, kind: 'sideways' as ThrottleSettingInput['kind'] }),
        'POLICYD_ERR_INVALID_OPTION',
        'sideways',
      );
      await expectPolicydError(
        store.setSetting({ ...base, periodSeconds: -1 }),
        'POLICYD_ERR_INVALID_OPTION',
        -1,
      );
      await expectPolicydError(
        store.setSetting({ ...base, priority: 256 }),
        'POLICYD_ERR_INVALID_OPTION',
        256,
      );
      await expectPolicydError(
        store.setSetting({ ...base, maxMessages: -2 }),
        'POLICYD_ERR_INVALID_OPTION',
        -2,
      );
      await expectPolicydError(
        store.setSetting({ ...base, maxRecipients: 0.5 }),
        'POLICYD_ERR_INVALID_OPTION',
        0.5,
      );
      await expectPolicydError(
        store.findSettings([{ kind: 'bogus' as ThrottleSettingInput['kind'], accounts: [] }]),
        'POLICYD_ERR_INVALID_OPTION',
        'bogus',
      );
      expect(await store.listSettings()).toEqual([]);
    });
  });

  describe('counters', () => {
    it('lists and resets counters by setting and/or tracking key', async () => {
      const store = h().store;
      const a = await store.setSetting({ account: '@.', kind: 'outbound', periodSeconds: 60 });
      const b = await store.setSetting({ account: '@.', kind: 'inbound', periodSeconds: 60 });
      const count = (settingId: number, trackingAccount: string) =>
        store.consume([{ settingId, trackingAccount, periodSeconds: 60, messages: 1, bytes: 10 }], T0);
      await count(a.id, 'y@x.test');
      await count(a.id, 'x@x.test');
      await count(b.id, 'x@x.test');
      expect((await store.listCounters({ settingId: a.id })).map((c) => c.trackingAccount)).toEqual([
        'x@x.test',
        'y@x.test',
      ]);
      expect((await store.listCounters({ trackingAccount: 'x@x.test' })).map((c) => c.settingId)).toEqual([
        a.id,
        b.id,
      ]);
      expect(await store.resetCounters({ settingId: a.id, trackingAccount: 'x@x.test' })).toBe(1);
      expect(await store.resetCounters({ trackingAccount: 'x@x.test' })).toBe(1);
      expect(await store.resetCounters({ settingId: a.id })).toBe(1);
      expect(await store.listCounters({ settingId: b.id })).toEqual([]);
    });

    it('requires a filter', async () => {
      await expectPolicydError(h().store.listCounters({}), 'POLICYD_ERR_INVALID_OPTION');
      await expectPolicydError(h().store.resetCounters({}), 'POLICYD_ERR_INVALID_OPTION');
    });
  });
}
