/**
 * The admin API: settings of an account and kind, their counters, priorities, and input validation.
 */

import { isPolicydError, type ThrottleSetting, type ThrottleStore } from '@policyd/core';
import { fixedClock } from '@policyd/core/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createThrottleAdmin, type ThrottleAdmin } from '../src/index.ts';
import type { ThrottleBackendFactory, ThrottleTestBackend } from './harness.ts';
import { T0 } from './setup.ts';

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

/** Register the admin tests for one backend. */
export function describeAdmin(factory: ThrottleBackendFactory): void {
  describe('admin', () => {
    let backend: ThrottleTestBackend | undefined;
    const clock = fixedClock(T0);
    let admin: ThrottleAdmin;
    beforeEach(async () => {
      backend = await factory();
      clock.set(T0);
      admin = createThrottleAdmin(backend.throttle, { now: clock.now });
    });
    afterEach(async () => {
      await backend?.close();
      backend = undefined;
    });
    const store = (): ThrottleStore => {
      if (backend === undefined) throw new Error('no backend');
      return backend.throttle;
    };

    it("sets each account form with fix_throttle_priority's priority, canonical, or an explicit one", async () => {
      const forms: readonly [string, string, number][] = [
        [' User@Example.COM ', 'user@example.com', 100],
        ['news@*', 'news@*', 90],
        ['2001:DB8::1', '2001:db8::1', 80],
        ['192.0.2.*', '192.0.2.*', 70],
        ['192.0.2.0/24', '192.0.2.0/24', 70],
        ['@example.com', '@example.com', 60],
        ['@.example.com', '@.example.com', 50],
        ['@.com', '@.com', 40],
        ['@ip', '@ip', 0],
        ['@.', '@.', 0],
      ];
      for (const [account, canonical, priority] of forms) {
        const setting = await admin.set({ account, kind: 'outbound', periodSeconds: 60, maxMessages: 5 });
        expect([setting.account, setting.priority, setting.maxMessages, setting.maxQuotaBytes]).toEqual([
          canonical,
          priority,
          5,
          -1,
        ]);
      }
      const custom = await admin.set({ account: '@.', kind: 'inbound', periodSeconds: 60, priority: 3 });
      expect(custom.priority).toBe(3);
      expect(await admin.get('@.', 'inbound')).toEqual(custom);
      expect(await admin.get('@.', 'external')).toBeUndefined();
      expect((await admin.list({ kind: 'inbound' })).map((s) => s.account)).toEqual(['@.']);
      expect(await admin.list({ account: 'USER@example.com' })).toHaveLength(1);
    });

    it('refuses bad input, naming the value, and writes nothing', async () => {
      const cases: readonly [() => Promise<unknown>, string, unknown][] = [
        [
          () => admin.set({ account: '@com', kind: 'outbound', periodSeconds: 60 }),
          'POLICYD_ERR_INVALID_ACCOUNT',
          '@com',
        ],
        [
          () => admin.set({ account: '@.', kind: 'sideways' as 'outbound', periodSeconds: 60 }),
          'POLICYD_ERR_INVALID_OPTION',
          'sideways',
        ],
        [
          () => admin.set({ account: '@.', kind: 'outbound', periodSeconds: 1.5 }),
          'POLICYD_ERR_INVALID_OPTION',
          1.5,
        ],
        [
          () => admin.set({ account: '@.', kind: 'outbound', periodSeconds: 60, maxMessages: -2 }),
          'POLICYD_ERR_INVALID_OPTION',
          -2,
        ],
        [
          () => admin.set({ account: '@.', kind: 'outbound', periodSeconds: 60, priority: 256 }),
          'POLICYD_ERR_INVALID_OPTION',
          256,
        ],
        [() => admin.delete('not an account', 'outbound'), 'POLICYD_ERR_INVALID_ACCOUNT', 'not an account'],
        [() => admin.counters({ account: '@.', kind: 'outbound' }), 'POLICYD_ERR_INVALID_OPTION', '@.'],
        [
          () => admin.counters({ trackingAccount: 42 as unknown as string }),
          'POLICYD_ERR_INVALID_OPTION',
          42,
        ],
      ];
      for (const [call, code, value] of cases) {
        const err = await rejection(call());
        expect(isPolicydError(err), String(err)).toBe(true);
        expect(err).toMatchObject({ code, value });
        expect((err as Error).message).toContain(String(value));
      }
      expect(await admin.list()).toEqual([]);
    });

    it('deletes a setting with its counters', async () => {
      const setting = await admin.set({ account: '@.', kind: 'outbound', periodSeconds: 60, maxMessages: 5 });
      await store().consume(
        [
          {
            settingId: setting.id,
            trackingAccount: 'a@example.com',
            periodSeconds: 60,
            messages: 1,
            bytes: 10,
          },
        ],
        T0,
      );
      expect(await admin.delete('@.', 'outbound')).toBe(true);
      expect(await admin.delete('@.', 'outbound')).toBe(false);
      expect(await admin.counters({ trackingAccount: 'a@example.com' })).toEqual([]);
    });

    it('shows counters of a setting or of a tracking key, with where their window stands', async () => {
      const user = await admin.set({ account: '@example.com', kind: 'outbound', periodSeconds: 60 });
      const ip = await admin.set({ account: '@ip', kind: 'external', periodSeconds: 100 });
      const charge = (settingId: number, trackingAccount: string, periodSeconds: number) => ({
        settingId,
        trackingAccount,
        periodSeconds,
        messages: 2,
        bytes: 300,
      });
      await store().consume([charge(user.id, 'a@example.com', 60), charge(ip.id, '2001:db8::1', 100)], T0);
      await store().consume([charge(user.id, 'b@example.com', 60)], T0 + 10_000);
      const views = await admin.counters({ account: '@Example.com', kind: 'outbound' });
      expect(views.map((v) => [v.trackingAccount, v.messages, v.windowEndsAt, v.ended])).toEqual([
        ['a@example.com', 2, T0 + 60_000, false],
        ['b@example.com', 2, T0 + 70_000, false],
      ]);
      expect(views[0]?.setting).toEqual(user);
      clock.set(T0 + 60_000);
      expect((await admin.counters({ account: '@example.com', kind: 'outbound' }))[0]?.ended).toBe(false);
      clock.set(T0 + 61_000);
      expect(
        (
          await admin.counters({
            account: '@example.com',
            kind: 'outbound',
            trackingAccount: 'A@example.com',
          })
        ).map((v) => [v.trackingAccount, v.ended]),
      ).toEqual([['a@example.com', true]]);
      const byKey = await admin.counters({ trackingAccount: ' 2001:DB8:0::1 ' });
      expect(byKey.map((v) => [v.setting?.account, v.messages, v.bytes])).toEqual([['@ip', 2, 300]]);
    });

    it('shows a sliding counter with its previous window', async () => {
      const setting = await admin.set({ account: '@.', kind: 'outbound', periodSeconds: 100 });
      const charge = {
        settingId: setting.id,
        trackingAccount: 'a@example.com',
        periodSeconds: 100,
        messages: 3,
        bytes: 10,
        algorithm: 'sliding' as const,
      };
      await store().consume([charge], T0);
      await store().consume([{ ...charge, messages: 1 }], T0 + 150_000);
      const [view] = await admin.counters({ trackingAccount: 'a@example.com' });
      expect(view).toMatchObject({
        messages: 1,
        previousMessages: 3,
        windowStartAt: T0 + 100_000,
        windowEndsAt: T0 + 200_000,
        periodSeconds: 200,
      });
    });

    it('resets the counters of a setting, of one key of it, or of a key everywhere', async () => {
      const a = await admin.set({ account: '@.', kind: 'outbound', periodSeconds: 60 });
      const b = await admin.set({ account: '@.', kind: 'inbound', periodSeconds: 60 });
      const one = (settingId: number, trackingAccount: string) => ({
        settingId,
        trackingAccount,
        periodSeconds: 60,
        messages: 1,
        bytes: 1,
      });
      await store().consume(
        [one(a.id, 'x@example.com'), one(a.id, 'y@example.com'), one(b.id, 'x@example.com')],
        T0,
      );
      expect(
        await admin.resetCounters({ account: '@.', kind: 'outbound', trackingAccount: 'y@example.com' }),
      ).toBe(1);
      expect(await admin.resetCounters({ trackingAccount: 'X@example.com' })).toBe(2);
      expect(await store().listCounters({ settingId: a.id })).toEqual([]);
      await store().consume([one(a.id, 'z@example.com')], T0);
      expect(await admin.resetCounters({ account: '@.', kind: 'outbound' })).toBe(1);
    });

    it('fixes priorities like fix_throttle_priority.py, idempotently, skipping rows it cannot address', async () => {
      await admin.set({ account: 'user@example.com', kind: 'outbound', periodSeconds: 60, priority: 10 });
      await admin.set({ account: '192.0.2.0/24', kind: 'external', periodSeconds: 60, priority: 0 });
      const right = await admin.set({ account: '@example.com', kind: 'inbound', periodSeconds: 60 });
      const report = await admin.fixPriorities();
      expect(report.fixed.map((f) => [f.setting.account, f.setting.priority, f.priority])).toEqual([
        ['192.0.2.0/24', 0, 70],
        ['user@example.com', 10, 100],
      ]);
      expect(report.skipped).toEqual([]);
      expect((await admin.list()).map((s) => [s.account, s.priority])).toEqual([
        ['192.0.2.0/24', 70],
        ['@example.com', 60],
        ['user@example.com', 100],
      ]);
      expect(await admin.fixPriorities()).toEqual({ fixed: [], skipped: [] });
      // A row written by another tool in mixed case cannot be addressed through the store API.
      const foreign: ThrottleSetting = {
        ...right,
        id: right.id + 1000,
        account: 'Boss@Example.com',
        priority: 1,
      };
      const base = store();
      // Only what fixPriorities calls.
      const withForeign = {
        listSettings: async () => [...(await base.listSettings()), foreign],
        setSetting: (input) => base.setSetting(input),
      } as Pick<ThrottleStore, 'listSettings' | 'setSetting'> as ThrottleStore;
      const mixed = await createThrottleAdmin(withForeign).fixPriorities();
      expect(mixed).toEqual({ fixed: [], skipped: [foreign] });
    });
  });
}
