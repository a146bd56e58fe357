/**
 * Throttle conformance, charge options beyond iRedAPD: sliding windows and the strict quota rule.
 */

import { describe, expect, it } from 'vitest';
import type { ThrottleCharge, ThrottleSetting, ThrottleStore } from '../throttle-store.ts';
import { expectPolicydError, type StoreHarness, seconds, T0 } from './harness.ts';

const PERIOD = 100;

/**
 * Register the sliding-window and strict-quota tests of the throttle conformance suite.
 *
 * @param h - the current harness (from `useHarness`)
 */
export function describeThrottleSliding(h: () => StoreHarness<ThrottleStore>): void {
  async function setting(): Promise<ThrottleSetting> {
    return h().store.setSetting({
      account: 'user@example.com',
      kind: 'outbound',
      periodSeconds: PERIOD,
      maxMessages: 10,
    });
  }
  const sliding = (s: ThrottleSetting, over: Partial<ThrottleCharge> = {}): ThrottleCharge => ({
    settingId: s.id,
    trackingAccount: 'user@example.com',
    periodSeconds: PERIOD,
    messages: 1,
    bytes: 100,
    maxMessages: 10,
    algorithm: 'sliding',
    ...over,
  });
  const at = (s: number): number => T0 + seconds(s);

  describe('strict quota', () => {
    it('includes the message in the quota check', async () => {
      const s = await setting();
      const store = h().store;
      const quota = (bytes: number, strictQuota: boolean) =>
        store.consume(
          [{ ...sliding(s), algorithm: 'fixed', maxMessages: 0, bytes, maxQuotaBytes: 1000, strictQuota }],
          T0,
        );
      expect((await quota(600, true)).admitted).toBe(true);
      expect(await quota(500, true)).toMatchObject({ admitted: false, rejection: { limit: 'bytes' } });
      expect((await quota(400, true)).admitted).toBe(true);
      expect((await quota(1, true)).rejection?.limit).toBe('bytes');
      expect((await quota(1, false)).admitted).toBe(true);
      expect((await store.listCounters({ settingId: s.id }))[0]?.bytes).toBe(1001);
    });
  });

  describe('sliding windows', () => {
    it('carries the previous window into the next one, weighted by the share still in the last period', async () => {
      const s = await setting();
      const store = h().store;
      const first = await store.consume([sliding(s, { messages: 10 })], T0);
      expect(first.counters[0]).toEqual({
        before: {
          messages: 0,
          bytes: 0,
          windowStartAt: T0,
          lastNotifiedAt: 0,
          previousMessages: 0,
          previousBytes: 0,
        },
        after: {
          messages: 10,
          bytes: 100,
          windowStartAt: T0,
          lastNotifiedAt: 0,
          previousMessages: 0,
          previousBytes: 0,
        },
      });
      expect((await store.consume([sliding(s)], at(99))).rejection).toMatchObject({ limit: 'messages' });
      // One period later the ten messages are the previous window, still fully inside the last 100 s.
      const rolled = await store.consume([sliding(s)], at(100));
      expect(rolled).toMatchObject({ admitted: false, rejection: { limit: 'messages', notify: true } });
      expect(rolled.counters[0]?.before).toEqual({
        messages: 0,
        bytes: 0,
        windowStartAt: at(100),
        lastNotifiedAt: at(99),
        previousMessages: 10,
        previousBytes: 100,
      });
      // Half-way: 10 × 0.5 = 5 still count, so 5 more fit.
      expect((await store.consume([sliding(s, { messages: 5 })], at(150))).admitted).toBe(true);
      expect((await store.consume([sliding(s)], at(150))).admitted).toBe(false);
      // At 90 % of the window: 10 × 0.1 = 1 counts besides the 5, so 4 fit and 5 do not.
      expect((await store.consume([sliding(s, { messages: 5 })], at(190))).admitted).toBe(false);
      expect((await store.consume([sliding(s, { messages: 4 })], at(190))).admitted).toBe(true);
      expect(await store.listCounters({ settingId: s.id })).toEqual([
        {
          settingId: s.id,
          trackingAccount: 'user@example.com',
          periodSeconds: 2 * PERIOD,
          messages: 9,
          bytes: 200,
          windowStartAt: at(100),
          lastNotifiedAt: at(100),
          lastUpdatedAt: at(190),
          previousMessages: 10,
          previousBytes: 100,
        },
      ]);
    });

    it('starts from zero two periods after the window started', async () => {
      const s = await setting();
      const store = h().store;
      await store.consume([sliding(s, { messages: 10 })], T0);
      const later = await store.consume([sliding(s, { messages: 10 })], at(2 * PERIOD));
      expect(later.admitted).toBe(true);
      expect(later.counters[0]?.before).toMatchObject({
        messages: 0,
        windowStartAt: at(2 * PERIOD),
        previousMessages: 0,
      });
    });

    it('applies the quota rule to the estimated bytes', async () => {
      const s = await setting();
      const store = h().store;
      const bytes = (n: number, now: number) =>
        store.consume([sliding(s, { messages: 0, bytes: n, maxMessages: 0, maxQuotaBytes: 1000 })], now);
      expect((await bytes(2000, T0)).admitted).toBe(true);
      // 2000 × (100 − 60) / 100 = 800 ≤ 1000: the message passes; then 800 + 300 > 1000.
      expect((await bytes(300, at(160))).admitted).toBe(true);
      expect((await bytes(1, at(160))).rejection?.limit).toBe('bytes');
    });

    it('admits exactly what the estimate allows under 50 concurrent calls', async () => {
      const s = await setting();
      const store = h().store;
      await store.consume([sliding(s, { messages: 10 })], T0);
      // At 130 s, 10 × 0.7 = 7 still count: 3 of 50 concurrent messages fit.
      const results = await Promise.all(
        Array.from({ length: 50 }, () => store.consume([sliding(s)], at(130))),
      );
      expect(results.filter((r) => r.admitted)).toHaveLength(3);
      expect(results.filter((r) => r.rejection?.notify === true)).toHaveLength(1);
    });

    it('keeps a sliding counter through cleanup for two periods', async () => {
      const s = await setting();
      const store = h().store;
      await store.consume([sliding(s, { messages: 4 })], T0);
      // A fixed counter would be gone here (T0 + 100 < T0 + 150); the sliding one still matters.
      expect((await store.cleanup({ now: at(150) })).deleted).toBe(0);
      // 4 × 0.5 = 2 still count: 9 more do not fit.
      expect((await store.consume([sliding(s, { messages: 9 })], at(150))).admitted).toBe(false);
      // The rejection stored the rolled window (start T0 + 100), kept until two periods after it.
      expect((await store.cleanup({ now: at(300) })).deleted).toBe(0);
      expect((await store.cleanup({ now: at(301) })).deleted).toBe(1);
    });

    it('rejects unknown algorithms and non-boolean strictQuota', async () => {
      const s = await setting();
      const store = h().store;
      const bad = [
        { ...sliding(s), algorithm: 'gcra' },
        { ...sliding(s), strictQuota: 'yes' },
      ] as unknown as ThrottleCharge[];
      for (const charge of bad)
        await expectPolicydError(store.consume([charge], T0), 'POLICYD_ERR_INVALID_OPTION');
      expect(await store.listCounters({ settingId: s.id })).toEqual([]);
    });
  });
}
