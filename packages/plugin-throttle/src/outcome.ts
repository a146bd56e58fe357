/**
 * Logging what the plugin rejected or, in dry run, would have rejected.
 */

import {
  exceededThrottleLimit,
  type Logger,
  type ThrottleConsumeResult,
  type ThrottleWindow,
  toUnixSeconds,
} from '@policyd/core';
import type { Finding, SidePlan } from './plan.ts';

/**
 * Log one failing limit at `info`, like iRedAPD's "Exceeds … throttle for …" line.
 *
 * @param dryRun - true: the message goes on; the line says what would have been rejected
 * @param counters - the counter the message found, for `max_msgs` and `max_quota`
 */
export function logFinding(
  log: Logger,
  finding: Finding,
  plan: SidePlan,
  dryRun: boolean,
  counters?: ThrottleWindow,
): void {
  const { owner } = finding;
  log.info(
    {
      kind: finding.kind,
      rule: owner.rule,
      limit: owner.limit,
      account: owner.setting.account,
      settingId: owner.setting.id,
      user: plan.user,
      client: plan.clientAddress,
      sizeBytes: plan.sizeBytes,
      recipients: plan.recipients,
      ...(counters === undefined ? {} : { counted: { messages: counters.messages, bytes: counters.bytes } }),
      ...(dryRun ? { dryRun: true } : {}),
    },
    `throttle: ${dryRun ? 'dry run, would reject' : 'rejected'}: ${finding.kind} ${owner.rule} of ${owner.setting.account} exceeded`,
  );
}

/**
 * After an admitted `consume`, check each dry-run charge against its real limits on the window it saw (the same
 * rule the store applies) and log the ones that would have rejected the message.
 */
export function evaluateDryRun(
  log: Logger,
  plans: readonly SidePlan[],
  result: ThrottleConsumeResult,
  now: number,
): void {
  const nowSeconds = toUnixSeconds(now, 'now');
  let index = 0;
  for (const plan of plans) {
    for (const planned of plan.charges) {
      const before = result.counters[index++]?.before;
      if (!planned.dryRun || before === undefined) continue;
      const state = {
        messages: before.messages,
        bytes: before.bytes,
        windowStart: toUnixSeconds(before.windowStartAt, 'windowStartAt'),
        lastNotified: toUnixSeconds(before.lastNotifiedAt, 'lastNotifiedAt'),
        previousMessages: before.previousMessages ?? 0,
        previousBytes: before.previousBytes ?? 0,
        fresh: false,
      };
      const limit = exceededThrottleLimit(state, planned.enforced, nowSeconds);
      if (limit === undefined) continue;
      const rule = limit === 'messages' ? 'max_msgs' : 'max_quota';
      const owner = planned.owners.find((o) => o.rule === rule) ?? planned.owners[0]!;
      logFinding(log, { kind: plan.kind, owner, dryRun: true }, plan, true, before);
    }
  }
}
