/**
 * Throttle conformance, decision path: counting, limits, windows, notification claims, atomicity.
 */

import { describe, expect, it } from 'vitest';
import type { ThrottleCharge, ThrottleSetting, ThrottleStore } from '../throttle-store.ts';
import { expectPolicydError, type StoreHarness, seconds, T0 } from './harness.ts';

const PERIOD = 3600;

/**
 * Register the decision-path tests of the throttle conformance suite.
 *
 * @param h - the current harness (from `useHarness`)
 */
export function describeThrottleConsume(h: () => StoreHarness<ThrottleStore>): void {
  async function setting(account = 'user@example.com', over = {}): Promise<ThrottleSetting> {
    return h().store.setSetting({
      account,
      kind: 'outbound',
      periodSeconds: PERIOD,
      maxMessages: 10,
      ...over,
    });
  }
  const charge = (s: ThrottleSetting, over: Partial<ThrottleCharge> = {}): ThrottleCharge => ({
    settingId: s.id,
    trackingAccount: 'user@example.com',
    periodSeconds: s.periodSeconds,
    messages: 1,
    bytes: 100,
    ...over,
  });

  describe('consume', () => {
    it('starts a window with the first message and adds within it', async () => {
      const s = await setting();
      const store = h().store;
      expect(await store.consume([charge(s, { messages: 2, bytes: 1000, maxMessages: 10 })], T0)).toEqual({
        admitted: true,
        counters: [
          {
            before: { messages: 0, bytes: 0, windowStartAt: T0, lastNotifiedAt: 0 },
            after: { messages: 2, bytes: 1000, windowStartAt: T0, lastNotifiedAt: 0 },
          },
        ],
      });
      const second = await store.consume([charge(s, { messages: 3, bytes: 500 })], T0 + seconds(60));
      expect(second.counters[0]).toEqual({
        before: { messages: 2, bytes: 1000, windowStartAt: T0, lastNotifiedAt: 0 },
        after: { messages: 5, bytes: 1500, windowStartAt: T0, lastNotifiedAt: 0 },
      });
      expect(await store.listCounters({ settingId: s.id })).toEqual([
        {
          settingId: s.id,
          trackingAccount: 'user@example.com',
          periodSeconds: PERIOD,
          messages: 5,
          bytes: 1500,
          windowStartAt: T0,
          lastUpdatedAt: T0 + seconds(60),
          lastNotifiedAt: 0,
        },
      ]);
    });

    it('admits a message landing exactly on the message limit and rejects the next, counting nothing', async () => {
      const s = await setting();
      const store = h().store;
      expect((await store.consume([charge(s, { messages: 10, maxMessages: 10 })], T0)).admitted).toBe(true);
      const rejected = await store.consume([charge(s, { messages: 1, maxMessages: 10 })], T0 + 1000);
      expect(rejected).toMatchObject({ admitted: false, rejection: { index: 0, limit: 'messages' } });
      expect(rejected.counters[0]?.before).toMatchObject({ messages: 10, bytes: 100 });
      expect((await store.listCounters({ settingId: s.id }))[0]).toMatchObject({ messages: 10, bytes: 100 });
    });

    it('applies the quota rule to the bytes counted before the message', async () => {
      const s = await setting();
      const store = h().store;
      const quota = (bytes: number, now: number) =>
        store.consume([charge(s, { bytes, maxQuotaBytes: 1000 })], now);
      expect((await quota(1000, T0)).admitted).toBe(true);
      expect((await quota(5000, T0 + 1000)).admitted).toBe(true);
      const rejected = await quota(1, T0 + 2000);
      expect(rejected.rejection).toMatchObject({ index: 0, limit: 'bytes' });
      expect(rejected.counters[0]?.before.bytes).toBe(6000);
    });

    it('checks messages before bytes within one charge', async () => {
      const s = await setting();
      const store = h().store;
      await store.consume([charge(s, { messages: 10, bytes: 5000 })], T0);
      const both = await store.consume([charge(s, { maxMessages: 10, maxQuotaBytes: 1000 })], T0);
      expect(both.rejection?.limit).toBe('messages');
    });

    it('counts but does not enforce limits of 0, -1 or none', async () => {
      const s = await setting();
      const store = h().store;
      for (const limits of [
        { maxMessages: 0, maxQuotaBytes: 0 },
        { maxMessages: -1, maxQuotaBytes: -1 },
        {},
      ]) {
        expect(
          (await store.consume([charge(s, { messages: 1000, bytes: 10 ** 9, ...limits })], T0)).admitted,
        ).toBe(true);
      }
      expect((await store.listCounters({ settingId: s.id }))[0]).toMatchObject({
        messages: 3000,
        bytes: 3 * 10 ** 9,
      });
    });

    it('resets the window strictly after the period', async () => {
      const s = await setting();
      const store = h().store;
      await store.consume([charge(s, { messages: 10 })], T0);
      const atEnd = await store.consume([charge(s, { maxMessages: 10 })], T0 + seconds(PERIOD));
      expect(atEnd.admitted).toBe(false);
      const after = T0 + seconds(PERIOD + 1);
      const reset = await store.consume([charge(s, { messages: 2, maxMessages: 10 })], after);
      expect(reset.counters[0]).toEqual({
        before: { messages: 0, bytes: 0, windowStartAt: after, lastNotifiedAt: T0 + seconds(PERIOD) },
        after: { messages: 2, bytes: 100, windowStartAt: after, lastNotifiedAt: T0 + seconds(PERIOD) },
      });
    });

    it('is all-or-nothing across charges and reports the first failing one', async () => {
      const user = await setting();
      const domain = await setting('@example.com', { maxMessages: -1, maxQuotaBytes: 1000 });
      const store = h().store;
      await store.consume([charge(domain, { bytes: 2000 })], T0);
      const result = await store.consume(
        [charge(user, { maxMessages: 10 }), charge(domain, { maxQuotaBytes: 1000 })],
        T0 + 1000,
      );
      expect(result).toMatchObject({
        admitted: false,
        rejection: { index: 1, limit: 'bytes', notify: true },
      });
      expect(result.counters.map((c) => c.after.messages)).toEqual([0, 1]);
      expect(await store.listCounters({ settingId: user.id })).toEqual([]);
      const counted = await store.consume(
        [charge(user), charge(domain, { trackingAccount: 'other@example.com' })],
        T0,
      );
      expect(counted.admitted).toBe(true);
      expect(
        (await store.listCounters({ trackingAccount: 'user@example.com' })).map((c) => c.messages),
      ).toEqual([1, 1]);
    });

    it('claims the notification once per window, and again in the next window', async () => {
      const s = await setting();
      const store = h().store;
      await store.consume([charge(s, { messages: 10 })], T0);
      const over = (now: number) => store.consume([charge(s, { maxMessages: 10 })], now);
      const first = await over(T0 + 1000);
      expect(first.rejection?.notify).toBe(true);
      expect(first.counters[0]?.after.lastNotifiedAt).toBe(T0 + 1000);
      expect((await over(T0 + 2000)).rejection?.notify).toBe(false);
      expect((await store.listCounters({ settingId: s.id }))[0]?.lastNotifiedAt).toBe(T0 + 1000);
      const next = T0 + seconds(PERIOD + 1);
      const fresh = await store.consume([charge(s, { messages: 11, maxMessages: 10 })], next);
      expect(fresh.rejection).toEqual({ index: 0, limit: 'messages', notify: true });
      const again = await store.consume([charge(s, { messages: 11, maxMessages: 10 })], next + 1000);
      expect(again.rejection?.notify).toBe(false);
    });

    it('stores the window a rejection starts, with zero counts', async () => {
      const s = await setting();
      const store = h().store;
      const result = await store.consume([charge(s, { messages: 11, maxMessages: 10 })], T0);
      expect(result.rejection).toEqual({ index: 0, limit: 'messages', notify: true });
      expect(await store.listCounters({ settingId: s.id })).toEqual([
        {
          settingId: s.id,
          trackingAccount: 'user@example.com',
          periodSeconds: PERIOD,
          messages: 0,
          bytes: 0,
          windowStartAt: T0,
          lastUpdatedAt: T0,
          lastNotifiedAt: T0,
        },
      ]);
      expect(
        (await store.consume([charge(s, { messages: 10, maxMessages: 10 })], T0 + 1000)).counters[0]?.after,
      ).toMatchObject({ messages: 10, windowStartAt: T0 });
    });

    it('admits exactly the limit under 50 concurrent calls, and notifies once', async () => {
      const s = await setting();
      const store = h().store;
      const results = await Promise.all(
        Array.from({ length: 50 }, () => store.consume([charge(s, { maxMessages: 10 })], T0)),
      );
      expect(results.filter((r) => r.admitted)).toHaveLength(10);
      expect(results.filter((r) => r.rejection?.notify === true)).toHaveLength(1);
      expect((await store.listCounters({ settingId: s.id }))[0]?.messages).toBe(10);
    });

    it('keeps two-charge calls consistent under concurrency', async () => {
      const user = await setting('user@example.com', { maxMessages: 30 });
      const domain = await setting('@example.com', { maxMessages: 20 });
      const store = h().store;
      const results = await Promise.all(
        Array.from({ length: 40 }, (_, i) =>
          store.consume(
            [
              charge(user, { maxMessages: 30 }),
              charge(domain, { trackingAccount: i % 2 === 0 ? 'even' : 'odd', maxMessages: 5 }),
            ],
            T0,
          ),
        ),
      );
      expect(results.filter((r) => r.admitted)).toHaveLength(10);
      const counters = await store.listCounters({ settingId: domain.id });
      expect(counters.map((c) => [c.trackingAccount, c.messages])).toEqual([
        ['even', 5],
        ['odd', 5],
      ]);
      expect((await store.listCounters({ settingId: user.id }))[0]?.messages).toBe(10);
    });

    it('keeps whole seconds, rounding down', async () => {
      const s = await setting();
      const result = await h().store.consume([charge(s)], T0 + 1999);
      expect(result.counters[0]?.after.windowStartAt).toBe(T0 + 1000);
    });

    it('admits an empty call', async () => {
      expect(await h().store.consume([], T0)).toEqual({ admitted: true, counters: [] });
    });

    it('rejects malformed charges before writing anything', async () => {
      const s = await setting();
      const store = h().store;
      const bad: readonly (readonly ThrottleCharge[])[] = [
        [charge(s, { periodSeconds: 0 })],
        [charge(s, { messages: -1 })],
        [charge(s, { bytes: 1.5 })],
        [charge(s), charge(s, { maxQuotaBytes: 10 })],
        [charge(s), charge(s, { settingId: s.id + 1000 })],
      ];
      for (const charges of bad)
        await expectPolicydError(store.consume(charges, T0), 'POLICYD_ERR_INVALID_OPTION');
      await expectPolicydError(store.consume([charge(s)], Number.NaN), 'POLICYD_ERR_INVALID_OPTION');
      expect(await store.listCounters({ settingId: s.id })).toEqual([]);
    });
  });

  describe('cleanup', () => {
    it('deletes finished windows strictly after their end, in batches', async () => {
      const s = await setting();
      const store = h().store;
      for (let i = 0; i < 5; i++) await store.consume([charge(s, { trackingAccount: `u${i}` })], T0);
      await store.consume([charge(s, { trackingAccount: 'late' })], T0 + seconds(60));
      const end = T0 + seconds(PERIOD);
      expect(await store.cleanup({ now: end, batchSize: 2 })).toEqual({
        deleted: 0,
        batches: 1,
        more: false,
      });
      expect(await store.cleanup({ now: end + 1000, batchSize: 2, maxBatches: 2 })).toEqual({
        deleted: 4,
        batches: 2,
        more: true,
      });
      expect(await store.cleanup({ now: end + 1000, batchSize: 2 })).toEqual({
        deleted: 1,
        batches: 1,
        more: false,
      });
      expect((await store.listCounters({ settingId: s.id })).map((c) => c.trackingAccount)).toEqual(['late']);
    });

    it('rejects bad options', async () => {
      await expectPolicydError(
        h().store.cleanup({ now: T0, batchSize: -5 }),
        'POLICYD_ERR_INVALID_OPTION',
        -5,
      );
    });
  });
}
