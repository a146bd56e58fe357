/**
 * iRedAPD's rule selection: which setting row owns each of the four limits for one side of a message, with
 * `-1` inheritance, and the reply text of each limit.
 */

import type { ThrottleSetting } from '@policyd/core';

/** The four limits of a throttle setting, named as iRedAPD's columns. */
export type ThrottleRule = 'msg_size' | 'max_rcpts' | 'max_msgs' | 'max_quota';

/** The rules in the order iRedAPD checks them. */
export const THROTTLE_RULES: readonly ThrottleRule[] = Object.freeze([
  'msg_size',
  'max_rcpts',
  'max_msgs',
  'max_quota',
]);

/** The text after `REJECT` for each rule (iRedAPD's `SMTP_ACTIONS`). */
export const THROTTLE_REJECT_TEXTS: Readonly<Record<ThrottleRule, string>> = Object.freeze({
  msg_size: 'Message size is too large',
  max_rcpts: 'Too many recipients in single message',
  max_msgs: 'Throttling quota exceeded',
  max_quota: 'Throttling quota exceeded',
});

/** The setting field that holds each rule's value. */
const FIELDS = Object.freeze({
  msg_size: 'maxMessageSizeBytes',
  max_rcpts: 'maxRecipients',
  max_msgs: 'maxMessages',
  max_quota: 'maxQuotaBytes',
} as const satisfies Record<ThrottleRule, keyof ThrottleSetting>);

/** The setting that owns one rule, and its value there (`0` = unlimited, which still owns the rule). */
export interface ThrottleRuleOwner {
  /** Which limit. */
  readonly rule: ThrottleRule;
  /** The owning setting. */
  readonly setting: ThrottleSetting;
  /** The setting's value for the rule, ≥ 0. */
  readonly limit: number;
}

/** The owner of each rule that has one. */
export type ThrottleRuleOwners = Readonly<Partial<Record<ThrottleRule, ThrottleRuleOwner>>>;

/**
 * Which setting owns each rule, as iRedAPD's `apply` decides it: walk the settings in the given order (priority
 * first), skip any whose period is not positive (the whole row, even its `msg_size` and `max_rcpts`), and give
 * each rule to the first setting whose value for it is `>= 0`. `-1` (or any negative value) inherits from the
 * next setting; `0` claims the rule as unlimited.
 *
 * @param settings - the matching settings of one kind, ordered by priority desc (as `findSettings` returns them)
 */
export function ownRules(settings: readonly ThrottleSetting[]): ThrottleRuleOwners {
  const owners: Partial<Record<ThrottleRule, ThrottleRuleOwner>> = {};
  for (const setting of settings) {
    if (!(setting.periodSeconds > 0)) continue;
    for (const rule of THROTTLE_RULES) {
      const limit = setting[FIELDS[rule]];
      if (owners[rule] === undefined && limit >= 0) owners[rule] = { rule, setting, limit };
    }
  }
  return owners;
}
