/**
 * `@policyd/plugin-throttle`: iRedAPD's `throttle` plugin (messages, bytes, message size and recipients per
 * sender or recipient and period, from iRedAPD's `throttle` and `throttle_tracking` tables) with exact, atomic
 * counters, a "limit exceeded" event, and its admin API. Beyond iRedAPD, off by default: sliding windows, a
 * strict quota rule and dry-run settings.
 *
 * @example
 * ```ts
 * import { createMemoryStores, createPolicy, createServer } from '@policyd/core';
 * import { createThrottleAdmin, throttle } from '@policyd/plugin-throttle';
 *
 * const stores = createMemoryStores({ domains: { domains: [{ domain: 'example.com' }] } });
 * await createThrottleAdmin(stores.throttle).set({
 *   account: '@example.com', kind: 'outbound', periodSeconds: 3600, maxMessages: 500, maxMessageSizeBytes: 25_000_000,
 * });
 * const plugin = throttle({
 *   store: stores.throttle,
 *   domains: stores.domains,
 *   onLimitExceeded: (e) => console.warn(`${e.user} hit ${e.rule}=${e.limit}`),
 * });
 * const policy = await createPolicy({ plugins: [plugin] });
 * await createServer(policy).listen({ host: '127.0.0.1', port: 7777 });
 * // main.cf: smtpd_end_of_data_restrictions = check_policy_service inet:127.0.0.1:7777
 * ```
 *
 * @packageDocumentation
 */

export type {
  ThrottleAdmin,
  ThrottleAdminOptions,
  ThrottleCounterQuery,
  ThrottleCounterView,
  ThrottlePriorityFix,
  ThrottlePriorityReport,
} from './admin.ts';
export { createThrottleAdmin } from './admin.ts';
export type { ThrottleEventRule, ThrottleLimitEvent } from './event.ts';
export type { ResolvedThrottleOptions, ThrottleDryRunOptions, ThrottleOptions } from './options.ts';
export { resolveThrottleOptions, THROTTLE_PLUGIN_NAME, THROTTLE_PLUGIN_PRIORITY } from './options.ts';
export { throttle } from './plugin.ts';
export type { ThrottleRule, ThrottleRuleOwner, ThrottleRuleOwners } from './rules.ts';
export { ownRules, THROTTLE_REJECT_TEXTS, THROTTLE_RULES } from './rules.ts';
