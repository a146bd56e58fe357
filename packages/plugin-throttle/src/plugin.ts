/**
 * The throttle plugin: iRedAPD's `throttle` at END-OF-MESSAGE. Decides which settings apply to the sender and
 * the recipient, checks the per-message limits, then checks and counts the per-period limits in one atomic
 * store call.
 */

import {
  Decision,
  type Logger,
  PolicydError,
  type PolicyPlugin,
  type PolicyRequest,
  parseAccount,
  type ThrottleChargeCounters,
  type ThrottleConsumeResult,
  type ThrottleSetting,
  type ThrottleWindow,
} from '@policyd/core';
import { clientCandidates } from './candidates.ts';
import { createEventDispatcher, type ThrottleLimitEvent } from './event.ts';
import { findSideSettings } from './lookup.ts';
import { resolveThrottleOptions, THROTTLE_PLUGIN_NAME, type ThrottleOptions } from './options.ts';
import { evaluateDryRun, logFinding } from './outcome.ts';
import { checkStatic, type Finding, type PlannedCharge, planSide, type SidePlan } from './plan.ts';
import { THROTTLE_REJECT_TEXTS, THROTTLE_RULES } from './rules.ts';
import { bypassReason, throttledSides } from './sides.ts';

function canonicalAccount(account: string): string {
  try {
    return parseAccount(account).account;
  } catch {
    return account;
  }
}

function reject(finding: Finding): Decision {
  return Decision.reject(
    THROTTLE_REJECT_TEXTS[finding.owner.rule],
    `throttle:${finding.kind}:${finding.owner.rule}`,
  );
}

/** Which side and charge a consume rejection points at. */
function locate(plans: readonly SidePlan[], index: number): { plan: SidePlan; planned: PlannedCharge } {
  let offset = index;
  for (const plan of plans) {
    if (offset < plan.charges.length) return { plan, planned: plan.charges[offset]! };
    offset -= plan.charges.length;
  }
  throw new PolicydError('POLICYD_ERR_STORE', `throttle store rejected charge ${index}, which was not sent`, {
    value: index,
  });
}

function limitEvent(
  plan: SidePlan,
  planned: PlannedCharge,
  limit: 'messages' | 'bytes',
  counters: ThrottleWindow,
  at: number,
): ThrottleLimitEvent {
  const rule = limit === 'messages' ? 'max_msgs' : 'max_quota';
  const owner = planned.owners.find((o) => o.rule === rule) ?? planned.owners[0]!;
  return {
    rule,
    limit: owner.limit,
    kind: plan.kind,
    account: owner.setting.account,
    settingId: owner.setting.id,
    periodSeconds: owner.setting.periodSeconds,
    user: plan.user,
    trackingAccount: planned.charge.trackingAccount,
    clientAddress: plan.clientAddress,
    counters,
    message: { sizeBytes: plan.sizeBytes, recipients: plan.recipients },
    rules: THROTTLE_RULES.flatMap((r) => plan.owners[r] ?? []).map((o) => ({
      rule: o.rule,
      limit: o.limit,
      settingId: o.setting.id,
      account: o.setting.account,
    })),
    at,
  };
}

/** A sliding charge must come back with the previous window's counts; a store that ignores it counts wrong. */
function assertSliding(result: ThrottleConsumeResult): void {
  const missing = result.counters.find(
    (c: ThrottleChargeCounters) => c.before.previousMessages === undefined,
  );
  if (missing !== undefined) {
    throw new PolicydError(
      'POLICYD_ERR_STORE',
      'the throttle store does not support sliding windows (no previous window in its answer); use algorithm "fixed" or a store that supports them',
    );
  }
}

/**
 * The throttle plugin: iRedAPD's `throttle` (priority 60, END-OF-MESSAGE). Sender throttling (`outbound` for
 * SASL logins and localhost, `external` otherwise) and recipient throttling (`inbound`), each with the four
 * limits `msg_size`, `max_rcpts`, `max_msgs` and `max_quota`, from iRedAPD's `throttle` table, with its reply
 * strings. A decision costs two store round trips: the settings of both sides in one call (the alias-domain
 * look-up runs concurrently), then one atomic check-and-count.
 *
 * Postfix: `smtpd_end_of_data_restrictions = check_policy_service inet:127.0.0.1:7777`.
 *
 * @throws PolicydError `POLICYD_ERR_INVALID_OPTION` (or `POLICYD_ERR_INVALID_ACCOUNT` for a dry-run account)
 *   for bad options
 *
 * @example
 * ```ts
 * const stores = createMemoryStores();
 * await stores.throttle.setSetting({ account: '@.', kind: 'outbound', periodSeconds: 3600, maxMessages: 100 });
 * const policy = await createPolicy({
 *   plugins: [throttle({ store: stores.throttle, domains: stores.domains, onLimitExceeded: (e) => mail(e) })],
 * });
 * ```
 */
export function throttle(options: ThrottleOptions): PolicyPlugin {
  const resolved = resolveThrottleOptions(options);
  const { store, domains, dryRunKinds, dryRunAccounts } = resolved;
  const events = createEventDispatcher(resolved.onLimitExceeded);
  const isDryRun = (setting: ThrottleSetting): boolean =>
    dryRunKinds.has(setting.kind) ||
    (dryRunAccounts.size > 0 && dryRunAccounts.has(canonicalAccount(setting.account)));
  const planOptions = { algorithm: resolved.algorithm, strictQuota: resolved.strictQuota, isDryRun };

  async function decide(request: PolicyRequest, log: Logger, now: number): Promise<Decision> {
    const bypassed = bypassReason(request, resolved);
    if (bypassed !== undefined) return Decision.dunno(bypassed);
    const queries = throttledSides(request, resolved);
    const clientAddress = request.clientAddress;
    const client = clientCandidates(clientAddress, resolved);
    const settings = await findSideSettings(store, domains, queries, client);
    const plans = queries.map((side, i) =>
      planSide(
        settings[i] ?? [],
        { ...side, clientAddress, sizeBytes: request.size, recipients: request.recipientCount },
        planOptions,
      ),
    );
    // iRedAPD finishes the sender side (counting it) before the recipient side's per-message checks.
    const [sender, recipient] = plans;
    const senderStatic = sender === undefined ? undefined : checkStatic(sender, planOptions);
    for (const f of senderStatic?.dryRun ?? []) logFinding(log, f, sender!, true);
    if (senderStatic?.reject !== undefined) {
      logFinding(log, senderStatic.reject, sender!, false);
      return reject(senderStatic.reject);
    }
    const recipientStatic = recipient === undefined ? undefined : checkStatic(recipient, planOptions);
    for (const f of recipientStatic?.dryRun ?? []) logFinding(log, f, recipient!, true);
    const charged = recipientStatic?.reject === undefined ? plans : plans.slice(0, 1);
    const charges = charged.flatMap((p) => p.charges.map((c) => c.charge));
    if (charges.length > 0) {
      const result = await store.consume(charges, now);
      if (resolved.algorithm === 'sliding') assertSliding(result);
      const { rejection } = result;
      if (rejection !== undefined) {
        const { plan, planned } = locate(charged, rejection.index);
        const before = result.counters[rejection.index]!.before;
        const event = limitEvent(plan, planned, rejection.limit, before, now);
        const finding: Finding = {
          kind: plan.kind,
          owner: planned.owners.find((o) => o.rule === event.rule) ?? planned.owners[0]!,
          dryRun: false,
        };
        logFinding(log, finding, plan, false, before);
        if (rejection.notify) {
          log.warn(
            {
              rule: event.rule,
              limit: event.limit,
              kind: event.kind,
              account: event.account,
              user: event.user,
            },
            'throttle: limit exceeded, first time in this period',
          );
          events.dispatch(event, log);
        }
        return reject(finding);
      }
      evaluateDryRun(log, charged, result, now);
    }
    if (recipientStatic?.reject !== undefined) {
      logFinding(log, recipientStatic.reject, recipient!, false);
      return reject(recipientStatic.reject);
    }
    return Decision.dunno();
  }

  return {
    name: THROTTLE_PLUGIN_NAME,
    priority: resolved.priority,
    states: ['END-OF-MESSAGE'],
    ...(resolved.onError === undefined ? {} : { onError: resolved.onError }),
    ...(resolved.timeoutMs === undefined ? {} : { timeoutMs: resolved.timeoutMs }),
    check: (request, ctx) => decide(request, ctx.log, ctx.now()),
    close: () => events.drain(),
  };
}
