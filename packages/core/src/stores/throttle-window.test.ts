import { describe, expect, it } from 'vitest';
import type { ThrottleCharge } from './throttle-store.ts';
import {
  countThrottleCharge,
  exceededThrottleLimit,
  storedThrottlePeriod,
  throttleWindowOf,
  throttleWindowState,
} from './throttle-window.ts';

const charge = (over: Partial<ThrottleCharge> = {}): ThrottleCharge => ({
  settingId: 1,
  trackingAccount: 'u',
  periodSeconds: 100,
  messages: 1,
  bytes: 10,
  ...over,
});

describe('throttleWindowState', () => {
  it('starts a window that never started (init 0) now, keeping its counts', () => {
    const stored = { messages: 4, bytes: 40, windowStart: 0, lastNotified: 0 };
    for (const algorithm of ['fixed', 'sliding'] as const) {
      expect(throttleWindowState(stored, charge({ algorithm }), 500)).toMatchObject({
        messages: 4,
        windowStart: 500,
        previousMessages: 0,
        fresh: true,
      });
    }
  });

  it('keeps a sliding window current when the clock is behind its start', () => {
    const stored = { messages: 4, bytes: 40, windowStart: 1000, lastNotified: 0, previousMessages: 8 };
    const state = throttleWindowState(stored, charge({ algorithm: 'sliding' }), 990);
    expect(state).toMatchObject({ messages: 4, previousMessages: 8, fresh: false });
    // Clamped: the previous window counts at most fully.
    expect(
      exceededThrottleLimit(state, charge({ algorithm: 'sliding', maxMessages: 13 }), 990),
    ).toBeUndefined();
    expect(exceededThrottleLimit(state, charge({ algorithm: 'sliding', maxMessages: 12 }), 990)).toBe(
      'messages',
    );
  });
});

describe('exceededThrottleLimit', () => {
  it('compares sliding estimates exactly, even for large byte counts and periods', () => {
    const period = 30 * 86_400;
    const big = 2 ** 52;
    const state = throttleWindowState(
      { messages: 0, bytes: 0, windowStart: 1, lastNotified: 0, previousBytes: big },
      charge({ algorithm: 'sliding', periodSeconds: period }),
      1 + period / 2,
    );
    const sliding = charge({ algorithm: 'sliding', periodSeconds: period, bytes: 0 });
    expect(
      exceededThrottleLimit(state, { ...sliding, maxQuotaBytes: big / 2 }, 1 + period / 2),
    ).toBeUndefined();
    expect(exceededThrottleLimit(state, { ...sliding, maxQuotaBytes: big / 2 - 1 }, 1 + period / 2)).toBe(
      'bytes',
    );
  });
});

describe('helpers', () => {
  it('store sliding counters with twice the period and report previous counts for them only', () => {
    expect(storedThrottlePeriod(charge())).toBe(100);
    expect(storedThrottlePeriod(charge({ algorithm: 'sliding' }))).toBe(200);
    const state = countThrottleCharge(throttleWindowState(undefined, charge(), 7), charge());
    expect(throttleWindowOf(state, charge())).toEqual({
      messages: 1,
      bytes: 10,
      windowStartAt: 7000,
      lastNotifiedAt: 0,
    });
    expect(throttleWindowOf(state, charge({ algorithm: 'sliding' }))).toMatchObject({
      previousMessages: 0,
      previousBytes: 0,
    });
  });
});
