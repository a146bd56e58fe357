/**
 * One side of a message (the sender, or the recipient) planned from its matching settings: which rules apply,
 * the checks that need no counter (`msg_size`, `max_rcpts`), and the counters to charge (`max_msgs`,
 * `max_quota`) as `ThrottleStore.consume` takes them.
 */

import type { ThrottleAlgorithm, ThrottleCharge, ThrottleKind, ThrottleSetting } from '@policyd/core';
import { trackingAccount } from './candidates.ts';
import { ownRules, type ThrottleRuleOwner, type ThrottleRuleOwners } from './rules.ts';

/** What one side is about. */
export interface SideInput {
  /** `outbound`, `external` or `inbound`. */
  readonly kind: ThrottleKind;
  /** The throttled user (sender or recipient), `''` when none. */
  readonly user: string;
  /** The client's address. */
  readonly clientAddress: string;
  /** Message size in bytes. */
  readonly sizeBytes: number;
  /** Recipient count. */
  readonly recipients: number;
}

/** How charges are built. */
export interface PlanOptions {
  /** Counting algorithm of every charge. */
  readonly algorithm: ThrottleAlgorithm;
  /** Strict quota rule. */
  readonly strictQuota: boolean;
  /** Whether a setting only logs. */
  readonly isDryRun: (setting: ThrottleSetting) => boolean;
}

/** One counter to charge, with the rules it enforces. */
export interface PlannedCharge {
  /** What is passed to `consume`: without limits when the setting is in dry run. */
  readonly charge: ThrottleCharge;
  /** The same charge with its limits, for evaluating a dry run. */
  readonly enforced: ThrottleCharge;
  /** The rules counted here (`max_msgs` and/or `max_quota`), in check order. */
  readonly owners: readonly ThrottleRuleOwner[];
  /** True when the owning setting is in dry run. */
  readonly dryRun: boolean;
}

/** One side, planned. */
export interface SidePlan extends SideInput {
  /** The owner of each rule that has one. */
  readonly owners: ThrottleRuleOwners;
  /** Counters to charge, `max_msgs`'s first. */
  readonly charges: readonly PlannedCharge[];
}

/** A limit a message fails (or, in dry run, would fail). */
export interface Finding {
  /** The side's kind. */
  readonly kind: ThrottleKind;
  /** The failing rule and its owner. */
  readonly owner: ThrottleRuleOwner;
  /** True when the owner is in dry run: log only. */
  readonly dryRun: boolean;
}

/**
 * Plan one side: the rule owners (iRedAPD inheritance) and one charge per counter, in check order. When one
 * setting owns both `max_msgs` and `max_quota` they share one charge, as they share one counter.
 */
export function planSide(
  settings: readonly ThrottleSetting[],
  input: SideInput,
  options: PlanOptions,
): SidePlan {
  const owners = ownRules(settings);
  const charges: PlannedCharge[] = [];
  for (const owner of [owners.max_msgs, owners.max_quota]) {
    if (owner === undefined) continue;
    const existing = charges.find((c) => c.charge.settingId === owner.setting.id);
    const limit = owner.rule === 'max_msgs' ? { maxMessages: owner.limit } : { maxQuotaBytes: owner.limit };
    if (existing !== undefined) {
      const index = charges.indexOf(existing);
      const enforced = { ...existing.enforced, ...limit };
      charges[index] = {
        ...existing,
        charge: existing.dryRun ? existing.charge : enforced,
        enforced,
        owners: [...existing.owners, owner],
      };
      continue;
    }
    const base: ThrottleCharge = {
      settingId: owner.setting.id,
      trackingAccount: trackingAccount(owner.setting.account, input.user, input.clientAddress),
      periodSeconds: owner.setting.periodSeconds,
      messages: input.recipients,
      bytes: input.sizeBytes,
      ...(options.strictQuota ? { strictQuota: true } : {}),
      ...(options.algorithm === 'sliding' ? { algorithm: 'sliding' as const } : {}),
    };
    const dryRun = options.isDryRun(owner.setting);
    const enforced = { ...base, ...limit };
    // A dry-run setting is still counted, with no limit, so its counter shows what would have happened.
    charges.push({ charge: dryRun ? base : enforced, enforced, owners: [owner], dryRun });
  }
  return { ...input, owners, charges };
}

/**
 * The checks that need no counter, in iRedAPD's order: `msg_size` (`size > limit > 0`) then `max_rcpts`
 * (`recipients > limit > 0`); equal is fine. Returns the first real failure, and the dry-run failures found
 * before it.
 */
export function checkStatic(
  plan: SidePlan,
  options: Pick<PlanOptions, 'isDryRun'>,
): {
  readonly reject: Finding | undefined;
  readonly dryRun: readonly Finding[];
} {
  const dryRun: Finding[] = [];
  const checks = [
    [plan.owners.msg_size, plan.sizeBytes],
    [plan.owners.max_rcpts, plan.recipients],
  ] as const;
  for (const [owner, actual] of checks) {
    if (owner === undefined || !(owner.limit > 0 && actual > owner.limit)) continue;
    const finding: Finding = { kind: plan.kind, owner, dryRun: options.isDryRun(owner.setting) };
    if (!finding.dryRun) return { reject: finding, dryRun };
    dryRun.push(finding);
  }
  return { reject: undefined, dryRun };
}
