/**
 * From the configuration and the open stores to a running Policy: the plugins of the table in iRedAPD's order,
 * with iRedAPD's error handling (a failing plugin counts as DUNNO).
 */

import { createPolicy, type DnsResolver, type Logger, type Policy } from '@policyd/core';
import type { ThrottleLimitEvent } from '@policyd/plugin-throttle';
import type { DaemonStorage } from './daemon-storage.ts';
import { createPlugins, type PluginOrder, selectPlugins } from './plugin-table.ts';
import type { DaemonConfig } from './settings/daemon-config.ts';

/** What {@link buildPolicy} needs. */
export interface BuildPolicyInput {
  /** The configuration. */
  readonly config: DaemonConfig;
  /** The open stores and the disabled databases. */
  readonly storage: Pick<DaemonStorage, 'stores' | 'disabled'>;
  /** Plugin log lines go to children of it. */
  readonly logger: Logger;
  /** Clock in milliseconds; default `Date.now` (tests move time with a fixed clock). */
  readonly now?: () => number;
  /** DNS for greylisting's SPF bypass; default the system's resolver. */
  readonly dns?: DnsResolver;
  /** Host name amavisd_wblist treats as local; default `os.hostname()`. */
  readonly hostname?: string;
  /** Called when a throttle limit rejects for the first time in its window. */
  readonly onLimitExceeded?: (event: ThrottleLimitEvent) => void | Promise<void>;
}

/** The policy and the order it was built from. */
export interface BuiltPolicy {
  /** The policy. */
  readonly policy: Policy;
  /** The effective plugin order. */
  readonly order: PluginOrder;
}

/**
 * Deadline of one plugin: iRedAPD has none, but greylisting's SPF check is bounded by `DNS_QUERY_TIMEOUT`, so
 * it gets that plus room for its database calls, and never less than 5 s.
 */
export function pluginTimeoutMs(config: DaemonConfig): number {
  return Math.max(5_000, config.dns.timeoutMs + 2_000);
}

/**
 * Create the plugins and the policy. A plugin that throws, times out or loses its database is logged and
 * counts as DUNNO (`onPluginError: 'skip'`), as in iRedAPD.
 *
 * @throws PolicydError `POLICYD_ERR_INVALID_OPTION` for a plugin that does not exist or rejects its settings,
 * `POLICYD_ERR_PLUGIN_FAILED` when a plugin's `init()` fails
 *
 * @example
 * ```ts
 * const { policy, order } = await buildPolicy({ config, storage, logger });
 * ```
 */
export async function buildPolicy(input: BuildPolicyInput): Promise<BuiltPolicy> {
  const { config, storage, logger } = input;
  const order = selectPlugins(config.plugins);
  const plugins = createPlugins(order, {
    config,
    stores: storage.stores,
    disabled: storage.disabled,
    ...(input.dns === undefined ? {} : { dns: input.dns }),
    ...(input.hostname === undefined ? {} : { hostname: input.hostname }),
    ...(input.onLimitExceeded === undefined ? {} : { onLimitExceeded: input.onLimitExceeded }),
  });
  const policy = await createPolicy({
    plugins,
    logger,
    pluginTimeoutMs: pluginTimeoutMs(config),
    onPluginError: 'skip',
    ...(input.now === undefined ? {} : { now: input.now }),
  });
  return { policy, order };
}
