/**
 * Throttling as iRedAPD keeps it in its `iredapd` database: settings (`throttle`) and one counter row per
 * setting and tracking key (`throttle_tracking`), counted in fixed windows.
 */

import type { CleanupOptions, CleanupResult } from './cleanup.ts';

/**
 * Which traffic a setting throttles: `outbound` (authenticated or localhost senders), `external`
 * (unauthenticated senders), `inbound` (recipients).
 */
export type ThrottleKind = 'outbound' | 'external' | 'inbound';

/**
 * A throttle setting row. Limit values follow iRedAPD: `N > 0` is a limit, `0` is explicitly unlimited (and
 * stops inheritance), `-1` inherits from the next lower-priority row.
 */
export interface ThrottleSetting {
  /** Row id (`throttle.id`); counters refer to it. */
  readonly id: number;
  /** Who it applies to: address, `@domain`, `@.domain`, `@.tld`, `@.`, IP, wildcard IPv4, `@ip`, network … */
  readonly account: string;
  /** Which traffic. */
  readonly kind: ThrottleKind;
  /** Larger is evaluated first (ACCOUNT_PRIORITIES when written by this store). */
  readonly priority: number;
  /** Window length in seconds; `0` disables the whole row (iRedAPD). */
  readonly periodSeconds: number;
  /** `msg_size`: largest single message, bytes. */
  readonly maxMessageSizeBytes: number;
  /** `max_msgs`: messages per window, counted as recipients. */
  readonly maxMessages: number;
  /** `max_quota`: cumulative bytes per window. */
  readonly maxQuotaBytes: number;
  /** `max_rcpts`: recipients of one message. */
  readonly maxRecipients: number;
}

/**
 * How a counter counts:
 * - `fixed` (iRedAPD): a window starts with the first counted message and restarts with the first message after
 *   it ends (`now > windowStart + period`); the count is what was counted since the window started.
 * - `sliding`: consecutive windows of `period` seconds, the first starting with the first counted message; the
 *   count is the sliding-window-counter estimate of the last `period` seconds: the current window's count plus
 *   the previous window's count weighted by the share of the previous window still inside the last `period`
 *   seconds (`previous × (period − elapsed) / period`, `elapsed` = seconds since the current window started).
 *   A burst at the end of one window therefore still counts at the start of the next.
 */
export type ThrottleAlgorithm = 'fixed' | 'sliding';

/** One settings look-up: the settings of a kind whose account is one of the candidates. */
export interface ThrottleSettingsQuery {
  /** Which traffic. */
  readonly kind: ThrottleKind;
  /** Candidate accounts (exact values). */
  readonly accounts: readonly string[];
}

/**
 * One counter to charge for a message, already chosen by the plugin (the setting that owns the `max_msgs`
 * and/or `max_quota` rule and the tracking key). When one setting owns both rules for the same key, pass one
 * charge with both limits; two charges with the same setting and key are rejected.
 */
export interface ThrottleCharge {
  /** The owning setting's id. */
  readonly settingId: number;
  /** The tracking key (`throttle_tracking.account`): the user, the client IP or the wildcard setting. */
  readonly trackingAccount: string;
  /** The setting's window length in seconds (> 0). */
  readonly periodSeconds: number;
  /** Units to add to the message count: the message's recipient count. */
  readonly messages: number;
  /** Bytes to add to the quota count: the message size. */
  readonly bytes: number;
  /** When > 0: reject when `current messages + messages > maxMessages`. */
  readonly maxMessages?: number;
  /**
   * When > 0: reject when the bytes counted **before** this message exceed it (`current bytes > maxQuotaBytes`),
   * iRedAPD's rule: the message that crosses the quota is accepted and the next one is rejected.
   */
  readonly maxQuotaBytes?: number;
  /**
   * When true, the quota check includes this message: reject when `current bytes + bytes > maxQuotaBytes`, so
   * the message that would cross the quota is rejected too. Default false (iRedAPD's rule above).
   */
  readonly strictQuota?: boolean;
  /** How the counter counts; default `fixed`. See {@link ThrottleAlgorithm}. */
  readonly algorithm?: ThrottleAlgorithm;
}

/** A counter's window, as seen by one charge. Times in milliseconds since the epoch (whole seconds). */
export interface ThrottleWindow {
  /** Messages (recipients) counted in the window. */
  readonly messages: number;
  /** Bytes counted in the window. */
  readonly bytes: number;
  /** When the window started (`init_time`). */
  readonly windowStartAt: number;
  /** Last quota notification for this counter (`last_notify_time`); 0 = never. */
  readonly lastNotifiedAt: number;
  /**
   * `sliding` only: messages counted in the window before `windowStartAt` (0 when that window was not the one
   * immediately before). Present in every result of a sliding charge, absent for fixed charges.
   */
  readonly previousMessages?: number;
  /** `sliding` only: bytes counted in the window before `windowStartAt`, like {@link previousMessages}. */
  readonly previousBytes?: number;
}

/** One charge's counter before and after {@link ThrottleStore.consume}. */
export interface ThrottleChargeCounters {
  /**
   * The window the charge was checked against: the stored one, or zero counts starting now when there was no
   * counter or its window had expired (`now > windowStart + period`, strict). For a sliding charge: the stored
   * window, or the window that follows it when it has ended (`now ≥ windowStart + period`; the ended window's
   * counts become `previous…`), or zero counts starting now after two periods or more.
   */
  readonly before: ThrottleWindow;
  /**
   * After the call: `before` plus the charge when admitted; `before` when rejected, except that the rejecting
   * charge's `lastNotifiedAt` is now when the rejection claimed the notification.
   */
  readonly after: ThrottleWindow;
}

/** Which limit rejected a message. */
export interface ThrottleRejection {
  /** Index of the first failing charge, in input order (messages are checked before bytes). */
  readonly index: number;
  /** `messages` (max_msgs) or `bytes` (max_quota). */
  readonly limit: 'messages' | 'bytes';
  /**
   * True for exactly one rejection per counter window, across connections and daemons: the store set the
   * counter's `lastNotifiedAt` to now because it was before the window's start. Use it to emit the
   * "quota exceeded" event once per period.
   */
  readonly notify: boolean;
}

/** Result of {@link ThrottleStore.consume}. */
export interface ThrottleConsumeResult {
  /** True when every charge passed and all were counted. */
  readonly admitted: boolean;
  /** Set when not admitted. */
  readonly rejection?: ThrottleRejection;
  /** One entry per charge, in input order. */
  readonly counters: readonly ThrottleChargeCounters[];
}

/** Input of {@link ThrottleStore.setSetting}; omitted limits are `-1` (inherit). */
export interface ThrottleSettingInput {
  /** Who it applies to (any valid account form). */
  readonly account: string;
  /** Which traffic. */
  readonly kind: ThrottleKind;
  /** Window length in seconds, ≥ 0 (`0` disables the row). */
  readonly periodSeconds: number;
  /** Default: `accountPriority(account)`. */
  readonly priority?: number;
  /** `msg_size`, ≥ -1. */
  readonly maxMessageSizeBytes?: number;
  /** `max_msgs`, ≥ -1. */
  readonly maxMessages?: number;
  /** `max_quota`, ≥ -1. */
  readonly maxQuotaBytes?: number;
  /** `max_rcpts`, ≥ -1. */
  readonly maxRecipients?: number;
}

/** A stored counter. Times in milliseconds since the epoch (whole seconds). */
export interface ThrottleCounter extends ThrottleWindow {
  /** The setting it counts for. */
  readonly settingId: number;
  /** The tracking key. */
  readonly trackingAccount: string;
  /**
   * The window length it was last written with; for a counter written by a sliding charge, twice the charge's
   * period, because it holds two windows (so one cleanup rule, `windowStart + periodSeconds < now`, keeps it as
   * long as it matters, iRedAPD's `cleanup_db.py` included).
   */
  readonly periodSeconds: number;
  /** Last update (`last_time`). */
  readonly lastUpdatedAt: number;
}

/** Selects counters; at least the setting or the key. */
export interface ThrottleCounterFilter {
  /** Counters of this setting. */
  readonly settingId?: number;
  /** Counters with this tracking key. */
  readonly trackingAccount?: string;
}

/**
 * Throttle storage for the throttle plugin and its admin API.
 *
 * Decision path (SQL round trips): {@link ThrottleStore.findSettings} for the sender and the recipient side
 * together (1), then one {@link ThrottleStore.consume} for the counters that apply (2: one transaction that
 * checks and increments). A rejection's notification claim is part of that same transaction.
 *
 * Fixed windows by default, as iRedAPD: a window starts with the first counted message and restarts with the
 * first message after it ends. A charge may ask for a sliding-window estimate instead
 * ({@link ThrottleCharge.algorithm}), which needs the previous window's counts kept with the counter, and for a
 * quota check that includes the message ({@link ThrottleCharge.strictQuota}). Both are computed by the shared
 * functions of `throttle-window.ts`, so every implementation counts alike.
 *
 * Infrastructure failures reject with `POLICYD_ERR_STORE`; bad input with `POLICYD_ERR_INVALID_OPTION` or
 * `POLICYD_ERR_INVALID_ACCOUNT`.
 */
export interface ThrottleStore {
  /**
   * Settings for several kinds at once (a message needs the sender side and the recipient side). One result
   * list per query, in query order, each ordered by priority desc, then account (UTF-16 code units), then id,
   * so ties between, say, `@ip` and `@.` (both priority 0) are stable on every backend.
   */
  findSettings(queries: readonly ThrottleSettingsQuery[]): Promise<readonly (readonly ThrottleSetting[])[]>;

  /**
   * Check and count one message against its counters, atomically and all-or-nothing (50 concurrent calls
   * against a limit of 10 admit exactly 10). For each charge in order: a missing counter or an expired window
   * (`now > windowStart + period`) counts as zero starting now; then the charge's limits are checked. If all
   * pass, every counter is incremented (and its window started or restarted). If one fails, nothing is
   * counted; only the rejecting counter is written: its new window is stored when it had expired or did not
   * exist (counts zero), and its `lastNotifiedAt` is set to now when it was before the window's start
   * (`rejection.notify`). Sliding charges: see {@link ThrottleAlgorithm} and {@link ThrottleChargeCounters.before}.
   *
   * @param now - current time in milliseconds since the epoch
   * @throws PolicydError `POLICYD_ERR_INVALID_OPTION` for a malformed charge (negative counts, period ≤ 0,
   *   duplicate setting and key)
   */
  consume(charges: readonly ThrottleCharge[], now: number): Promise<ThrottleConsumeResult>;

  /** Settings, optionally of one account and/or kind, ordered by account, kind, then id. */
  listSettings(filter?: {
    readonly account?: string;
    readonly kind?: ThrottleKind;
  }): Promise<readonly ThrottleSetting[]>;

  /** Create or update the setting of an account and kind. @returns the stored row */
  setSetting(input: ThrottleSettingInput): Promise<ThrottleSetting>;

  /** Delete the setting of an account and kind and its counters. @returns whether a row was deleted */
  deleteSetting(account: string, kind: ThrottleKind): Promise<boolean>;

  /** Stored counters matching the filter, ordered by setting id, then tracking key. */
  listCounters(filter: ThrottleCounterFilter): Promise<readonly ThrottleCounter[]>;

  /** Delete counters matching the filter, so the next message starts a new window. @returns how many */
  resetCounters(filter: ThrottleCounterFilter): Promise<number>;

  /** Delete counters whose window ended (`windowStart + period < now`) in batches of `batchSize`. */
  cleanup(options: CleanupOptions): Promise<CleanupResult>;
}
