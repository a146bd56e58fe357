/**
 * Input rules of the `ThrottleStore` methods, shared by every implementation so that all of them accept and
 * reject the same values.
 */

import { ACCOUNT_PRIORITIES, parseAccount } from '../accounts.ts';
import { PolicydError } from '../errors.ts';
import type {
  ThrottleAlgorithm,
  ThrottleCharge,
  ThrottleCounterFilter,
  ThrottleKind,
  ThrottleSettingInput,
} from './throttle-store.ts';

/** Every {@link ThrottleKind}. */
export const THROTTLE_KINDS: readonly ThrottleKind[] = Object.freeze(['outbound', 'external', 'inbound']);

/** Every {@link ThrottleAlgorithm}. */
export const THROTTLE_ALGORITHMS: readonly ThrottleAlgorithm[] = Object.freeze(['fixed', 'sliding']);

/** Highest priority a setting may store (MySQL's `TINYINT UNSIGNED` column). */
export const MAX_THROTTLE_PRIORITY = 255;

function invalid(message: string, value: unknown): PolicydError {
  return new PolicydError('POLICYD_ERR_INVALID_OPTION', message, { value });
}

function integer(name: string, value: unknown, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `≥ ${min}` : `from ${min} to ${max}`;
    throw invalid(`${name} must be an integer ${range}, got ${String(value)}`, value);
  }
  return value;
}

/**
 * Check a kind.
 *
 * @throws PolicydError `POLICYD_ERR_INVALID_OPTION` for anything but `outbound`, `external`, `inbound`
 */
export function parseThrottleKind(kind: string): ThrottleKind {
  if (!(THROTTLE_KINDS as readonly string[]).includes(kind)) {
    throw invalid(`throttle kind must be one of ${THROTTLE_KINDS.join(', ')}, got ${String(kind)}`, kind);
  }
  return kind as ThrottleKind;
}

/**
 * Check the charges of one `consume` call: ids and counts are integers, `periodSeconds > 0`, counts ≥ 0,
 * limits integers (only values > 0 are enforced), `strictQuota` a boolean, `algorithm` `fixed` or `sliding`, and
 * no two charges share a setting and tracking key.
 *
 * @throws PolicydError `POLICYD_ERR_INVALID_OPTION` naming the bad field
 */
export function checkThrottleCharges(charges: readonly ThrottleCharge[]): void {
  const keys = new Set<string>();
  charges.forEach((charge, i) => {
    const at = `charges[${i}]`;
    integer(`${at}.settingId`, charge.settingId, 0);
    if (typeof charge.trackingAccount !== 'string') {
      throw invalid(`${at}.trackingAccount must be a string`, charge.trackingAccount);
    }
    integer(`${at}.periodSeconds`, charge.periodSeconds, 1);
    integer(`${at}.messages`, charge.messages, 0);
    integer(`${at}.bytes`, charge.bytes, 0);
    if (charge.maxMessages !== undefined) integer(`${at}.maxMessages`, charge.maxMessages, -1);
    if (charge.maxQuotaBytes !== undefined) integer(`${at}.maxQuotaBytes`, charge.maxQuotaBytes, -1);
    if (charge.strictQuota !== undefined && typeof charge.strictQuota !== 'boolean') {
      throw invalid(
        `${at}.strictQuota must be a boolean, got ${String(charge.strictQuota)}`,
        charge.strictQuota,
      );
    }
    if (charge.algorithm !== undefined && !THROTTLE_ALGORITHMS.includes(charge.algorithm)) {
      throw invalid(
        `${at}.algorithm must be one of ${THROTTLE_ALGORITHMS.join(', ')}, got ${String(charge.algorithm)}`,
        charge.algorithm,
      );
    }
    const key = JSON.stringify([charge.settingId, charge.trackingAccount]);
    if (keys.has(key)) {
      throw invalid(
        `${at} charges setting ${charge.settingId} / ${JSON.stringify(charge.trackingAccount)} twice; merge the limits into one charge`,
        charge,
      );
    }
    keys.add(key);
  });
}

/** A {@link ThrottleSettingInput} with the account canonical and every field filled in. */
export interface ResolvedThrottleSetting {
  /** Canonical account. */
  readonly account: string;
  /** Kind. */
  readonly kind: ThrottleKind;
  /** Priority, 0–255. */
  readonly priority: number;
  /** Window length, ≥ 0. */
  readonly periodSeconds: number;
  /** `msg_size`, ≥ -1. */
  readonly maxMessageSizeBytes: number;
  /** `max_msgs`, ≥ -1. */
  readonly maxMessages: number;
  /** `max_quota`, ≥ -1. */
  readonly maxQuotaBytes: number;
  /** `max_rcpts`, ≥ -1. */
  readonly maxRecipients: number;
}

/**
 * Check a setting and fill in defaults: limits `-1`, priority `ACCOUNT_PRIORITIES` of the account's form. The
 * account may have any valid form; it is trimmed, lower-cased and canonicalised.
 *
 * @throws PolicydError `POLICYD_ERR_INVALID_ACCOUNT` for the account, `POLICYD_ERR_INVALID_OPTION` for the rest
 */
export function resolveThrottleSetting(input: ThrottleSettingInput): ResolvedThrottleSetting {
  const parsed = parseAccount(String(input.account));
  const kind = parseThrottleKind(input.kind);
  return {
    account: parsed.account,
    kind,
    priority: integer(
      'priority',
      input.priority ?? ACCOUNT_PRIORITIES[parsed.type],
      0,
      MAX_THROTTLE_PRIORITY,
    ),
    periodSeconds: integer('periodSeconds', input.periodSeconds, 0),
    maxMessageSizeBytes: integer('maxMessageSizeBytes', input.maxMessageSizeBytes ?? -1, -1),
    maxMessages: integer('maxMessages', input.maxMessages ?? -1, -1),
    maxQuotaBytes: integer('maxQuotaBytes', input.maxQuotaBytes ?? -1, -1),
    maxRecipients: integer('maxRecipients', input.maxRecipients ?? -1, -1),
  };
}

/**
 * Check a counter filter: at least one of `settingId` and `trackingAccount`, so that no call touches every
 * counter by accident.
 *
 * @throws PolicydError `POLICYD_ERR_INVALID_OPTION`
 */
export function checkCounterFilter(filter: ThrottleCounterFilter): void {
  if (filter.settingId === undefined && filter.trackingAccount === undefined) {
    throw invalid('a counter filter needs settingId or trackingAccount', filter);
  }
  if (filter.settingId !== undefined) integer('settingId', filter.settingId, 0);
  if (filter.trackingAccount !== undefined && typeof filter.trackingAccount !== 'string') {
    throw invalid('trackingAccount must be a string', filter.trackingAccount);
  }
}
