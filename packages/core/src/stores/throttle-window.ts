/**
 * The counting rules of `ThrottleStore.consume`, as pure functions on unix seconds, shared by every
 * implementation: which window a charge sees (fixed or sliding), whether it passes its limits, and what is
 * stored afterwards. A SQL store reads the charged rows (locked), calls these, and writes the result back.
 */

import { fromUnixSeconds } from './store-time.ts';
import type { ThrottleAlgorithm, ThrottleCharge, ThrottleWindow } from './throttle-store.ts';

/** A stored counter as a store reads it; times in unix seconds, as in `throttle_tracking`. */
export interface StoredThrottleCounter {
  /** `cur_msgs`. */
  readonly messages: number;
  /** `cur_quota`. */
  readonly bytes: number;
  /** `init_time`; 0 means the window never started (rows written by other tools). */
  readonly windowStart: number;
  /** `last_notify_time`; 0 = never. */
  readonly lastNotified: number;
  /** Sliding counters: messages of the previous window (missing = 0). */
  readonly previousMessages?: number;
  /** Sliding counters: bytes of the previous window (missing = 0). */
  readonly previousBytes?: number;
}

/** The window one charge is checked against; times in unix seconds. */
export interface ThrottleWindowState {
  /** Messages counted in the current window. */
  readonly messages: number;
  /** Bytes counted in the current window. */
  readonly bytes: number;
  /** Start of the current window. */
  readonly windowStart: number;
  /** Last notification claim. */
  readonly lastNotified: number;
  /** Sliding: messages of the previous window (0 for fixed charges). */
  readonly previousMessages: number;
  /** Sliding: bytes of the previous window (0 for fixed charges). */
  readonly previousBytes: number;
  /** True when the stored counter differs from this state (new, restarted or rolled) and must be written. */
  readonly fresh: boolean;
}

function algorithmOf(charge: Pick<ThrottleCharge, 'periodSeconds' | 'algorithm'>): ThrottleAlgorithm {
  return charge.algorithm ?? 'fixed';
}

/**
 * The window a charge sees at `now` (unix seconds), given the stored counter (or `undefined` when there is
 * none).
 *
 * - fixed: a missing counter, or one whose window ended (`now > windowStart + period`, strict), counts as zero
 *   starting now; a counter whose window never started (`windowStart` 0) keeps its counts and starts now.
 * - sliding: windows are consecutive; within `[windowStart, windowStart + period)` the stored window is
 *   current; in the next period the stored counts become the previous window and a zero window starts at
 *   `windowStart + period`; two periods or more later everything is zero, starting now.
 */
export function throttleWindowState(
  stored: StoredThrottleCounter | undefined,
  charge: Pick<ThrottleCharge, 'periodSeconds' | 'algorithm'>,
  now: number,
): ThrottleWindowState {
  const period = charge.periodSeconds;
  const zero = { messages: 0, bytes: 0, previousMessages: 0, previousBytes: 0 };
  if (stored === undefined) return { ...zero, windowStart: now, lastNotified: 0, fresh: true };
  const { messages, bytes, lastNotified } = stored;
  if (stored.windowStart === 0) {
    return { ...zero, messages, bytes, windowStart: now, lastNotified, fresh: true };
  }
  if (algorithmOf(charge) === 'fixed') {
    if (now > stored.windowStart + period) return { ...zero, windowStart: now, lastNotified, fresh: true };
    return { ...zero, messages, bytes, windowStart: stored.windowStart, lastNotified, fresh: false };
  }
  const elapsed = now - stored.windowStart;
  if (elapsed < period) {
    return {
      messages,
      bytes,
      windowStart: stored.windowStart,
      lastNotified,
      previousMessages: stored.previousMessages ?? 0,
      previousBytes: stored.previousBytes ?? 0,
      fresh: false,
    };
  }
  if (elapsed < 2 * period) {
    return {
      messages: 0,
      bytes: 0,
      windowStart: stored.windowStart + period,
      lastNotified,
      previousMessages: messages,
      previousBytes: bytes,
      fresh: true,
    };
  }
  return { ...zero, windowStart: now, lastNotified, fresh: true };
}

/**
 * `current + previous × (period − elapsed) / period > limit`, in exact integer arithmetic (BigInt, so that
 * large byte counts times long periods cannot lose precision).
 */
function slidingExceeds(
  current: number,
  previous: number,
  elapsed: number,
  period: number,
  limit: number,
): boolean {
  const p = BigInt(period);
  const remaining = BigInt(Math.max(0, period - Math.max(0, elapsed)));
  return BigInt(current) * p + BigInt(previous) * remaining > BigInt(limit) * p;
}

/**
 * Which limit of the charge the state fails, messages first, or `undefined` when it passes. Only limits > 0 are
 * enforced. Messages: `count + charge.messages > maxMessages`. Bytes: `count > maxQuotaBytes` (iRedAPD: the
 * message crossing the quota passes), or `count + charge.bytes > maxQuotaBytes` with `strictQuota`. For sliding
 * charges `count` is the sliding estimate (see {@link ThrottleAlgorithm}).
 *
 * @param now - the same unix seconds given to {@link throttleWindowState}
 */
export function exceededThrottleLimit(
  state: ThrottleWindowState,
  charge: ThrottleCharge,
  now: number,
): 'messages' | 'bytes' | undefined {
  const maxMessages = charge.maxMessages ?? 0;
  const maxQuotaBytes = charge.maxQuotaBytes ?? 0;
  const messages = state.messages + charge.messages;
  const bytes = state.bytes + (charge.strictQuota === true ? charge.bytes : 0);
  if (algorithmOf(charge) === 'fixed') {
    if (maxMessages > 0 && messages > maxMessages) return 'messages';
    if (maxQuotaBytes > 0 && bytes > maxQuotaBytes) return 'bytes';
    return undefined;
  }
  const elapsed = now - state.windowStart;
  const period = charge.periodSeconds;
  if (maxMessages > 0 && slidingExceeds(messages, state.previousMessages, elapsed, period, maxMessages)) {
    return 'messages';
  }
  if (maxQuotaBytes > 0 && slidingExceeds(bytes, state.previousBytes, elapsed, period, maxQuotaBytes)) {
    return 'bytes';
  }
  return undefined;
}

/** The state after the charge is counted. */
export function countThrottleCharge(state: ThrottleWindowState, charge: ThrottleCharge): ThrottleWindowState {
  return { ...state, messages: state.messages + charge.messages, bytes: state.bytes + charge.bytes };
}

/**
 * The `periodSeconds` a store writes with a counter: the charge's period, or twice it for a sliding charge
 * (the counter holds two windows, and the cleanup rule `windowStart + periodSeconds < now` must keep it that
 * long).
 */
export function storedThrottlePeriod(charge: Pick<ThrottleCharge, 'periodSeconds' | 'algorithm'>): number {
  return algorithmOf(charge) === 'sliding' ? 2 * charge.periodSeconds : charge.periodSeconds;
}

/**
 * A state as the API reports it (milliseconds); `previousMessages`/`previousBytes` only for sliding charges.
 */
export function throttleWindowOf(
  state: ThrottleWindowState,
  charge: Pick<ThrottleCharge, 'periodSeconds' | 'algorithm'>,
): ThrottleWindow {
  const window: ThrottleWindow = {
    messages: state.messages,
    bytes: state.bytes,
    windowStartAt: fromUnixSeconds(state.windowStart),
    lastNotifiedAt: fromUnixSeconds(state.lastNotified),
  };
  if (algorithmOf(charge) === 'fixed') return window;
  return { ...window, previousMessages: state.previousMessages, previousBytes: state.previousBytes };
}
