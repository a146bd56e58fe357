/**
 * The one table from iRedAPD plugin names to policyd plugins: which iRedAPD plugins exist, their built-in
 * priorities, which ones policyd implements and how each is created from the settings. The effective order is
 * iRedAPD's: `PLUGIN_PRIORITIES` merged over the built-in priorities, higher first, ties in `plugins` order.
 */

import {
  createMemoryDomainStore,
  createTrustedNetworks,
  Decision,
  type DnsResolver,
  type DomainStore,
  type GreylistStore,
  isPolicydError,
  PolicydError,
  type PolicyPlugin,
  type ProtocolState,
  type ThrottleStore,
  type TrustedNetworks,
  type WblistStore,
} from '@policyd/core';
import { greylisting } from '@policyd/plugin-greylisting';
import { type ThrottleOptions, throttle } from '@policyd/plugin-throttle';
import { wblist } from '@policyd/plugin-wblist';
import { didYouMean, didYouMeanHint } from './did-you-mean.ts';
import { rejectNullSender } from './plugins/reject-null-sender.ts';
import type { DaemonConfig } from './settings/daemon-config.ts';
import type { DatabaseName } from './storage-plan.ts';

/**
 * iRedAPD 6.1's built-in priorities (`libs/__init__.py`), higher first; a plugin not listed gets 0. The two
 * `*_force_change_password_in_days` keys don't match the real module names, so in iRedAPD those plugins run at
 * 0; kept as iRedAPD has them.
 */
export const IREDAPD_PLUGIN_PRIORITIES: Readonly<Record<string, number>> = Object.freeze({
  reject_null_sender: 100,
  reject_to_hostname: 100,
  wblist_rdns: 99,
  reject_sender_login_mismatch: 90,
  greylisting: 80,
  ldap_force_change_password_in_days: 70,
  sql_force_change_password_in_days: 70,
  throttle: 60,
  sql_ml_access_policy: 51,
  ldap_maillist_access_policy: 50,
  sql_alias_access_policy: 50,
  amavisd_wblist: 40,
  whitelist_outbound_recipient: 30,
  senderscore: 10,
});

/** The stores plugins use: `openStorage()`'s result or `createMemoryStores()`. */
export interface PluginStores {
  /** Hosted and alias domains (`vmail`). */
  readonly domains: DomainStore;
  /** White/blacklists (`amavisd`). */
  readonly wblist: WblistStore;
  /** Greylisting (`iredapd`). */
  readonly greylist: GreylistStore;
  /** Throttle (`iredapd`). */
  readonly throttle: ThrottleStore;
}

/** What the factories get. */
export interface PluginContext {
  /** The daemon's configuration (plugin settings, `MYNETWORKS`, DNS timeout). */
  readonly config: DaemonConfig;
  /** The stores. */
  readonly stores: PluginStores;
  /**
   * Databases the settings disable (see `storagePlan`): plugins needing one answer DUNNO, as in iRedAPD, and a
   * disabled `vmail` means no domain is local or an alias. Default: none.
   */
  readonly disabled?: ReadonlySet<DatabaseName>;
  /** DNS for greylisting's SPF bypass; default the system's resolver. */
  readonly dns?: DnsResolver;
  /** The host name amavisd_wblist treats as a local domain; default `os.hostname()`. */
  readonly hostname?: string;
  /** Called when a throttle limit rejects for the first time in a window (the notification e-mail). */
  readonly onLimitExceeded?: ThrottleOptions['onLimitExceeded'];
}

/** What a factory in {@link IREDAPD_PLUGINS} gets: the context and what is resolved once for all plugins. */
export interface PluginFactoryInput {
  /** The context given to {@link createPlugins}. */
  readonly context: PluginContext;
  /** The domain store, or an empty one when `vmail` is disabled. */
  readonly domains: DomainStore;
  /** `MYNETWORKS`, parsed once and shared by greylisting and throttle. */
  readonly trusted: TrustedNetworks;
}

/** One iRedAPD plugin. */
export interface IredapdPluginEntry {
  /** iRedAPD's name (its module file name). */
  readonly name: string;
  /** Protocol states it runs in, as in iRedAPD. */
  readonly states: readonly ProtocolState[];
  /** The database it needs; with that database disabled it answers DUNNO. */
  readonly database?: DatabaseName;
  /** Creates the plugin; absent when policyd does not implement it. */
  readonly create?: (input: PluginFactoryInput) => PolicyPlugin;
}

const RCPT: readonly ProtocolState[] = Object.freeze(['RCPT']);
const END_OF_MESSAGE: readonly ProtocolState[] = Object.freeze(['END-OF-MESSAGE']);

/** Every plugin iRedAPD 6.1 ships, and how policyd creates the ones it implements. */
export const IREDAPD_PLUGINS: readonly IredapdPluginEntry[] = Object.freeze([
  { name: 'reject_null_sender', states: RCPT, create: () => rejectNullSender() },
  {
    name: 'amavisd_wblist',
    states: RCPT,
    database: 'amavisd',
    create: ({ context, domains }) =>
      wblist({
        ...context.config.wblist,
        store: context.stores.wblist,
        domains,
        ...(context.hostname === undefined ? {} : { hostname: context.hostname }),
      }),
  },
  {
    name: 'greylisting',
    states: RCPT,
    database: 'iredapd',
    create: ({ context, domains, trusted }) => {
      const { spfMaxLookups: _refreshOnly, ...options } = context.config.greylisting;
      return greylisting({
        ...options,
        store: context.stores.greylist,
        domains,
        mynetworks: trusted,
        ...(context.dns === undefined ? {} : { dns: context.dns }),
      });
    },
  },
  {
    name: 'throttle',
    states: END_OF_MESSAGE,
    database: 'iredapd',
    create: ({ context, domains, trusted }) =>
      throttle({
        ...context.config.throttle,
        store: context.stores.throttle,
        domains,
        mynetworks: trusted,
        ...(context.onLimitExceeded === undefined ? {} : { onLimitExceeded: context.onLimitExceeded }),
      }),
  },
  { name: 'reject_to_hostname', states: RCPT },
  { name: 'wblist_rdns', states: RCPT },
  { name: 'reject_sender_login_mismatch', states: RCPT },
  { name: 'ldap_force_change_password', states: RCPT },
  { name: 'sql_force_change_password', states: RCPT },
  { name: 'sql_ml_access_policy', states: RCPT },
  { name: 'ldap_maillist_access_policy', states: RCPT },
  { name: 'sql_alias_access_policy', states: RCPT },
  { name: 'whitelist_outbound_recipient', states: END_OF_MESSAGE },
  { name: 'senderscore', states: RCPT },
]);

const ENTRIES: ReadonlyMap<string, IredapdPluginEntry> = new Map(IREDAPD_PLUGINS.map((e) => [e.name, e]));

/** The iRedAPD plugin names policyd implements. */
export const AVAILABLE_PLUGINS: readonly string[] = Object.freeze(
  IREDAPD_PLUGINS.filter((e) => e.create !== undefined).map((e) => e.name),
);

/** One enabled plugin with its effective priority. */
export interface PluginSelection {
  /** iRedAPD name. */
  readonly name: string;
  /** Effective priority: `PLUGIN_PRIORITIES`, else iRedAPD's built-in one, else 0. */
  readonly priority: number;
  /** Protocol states it runs in. */
  readonly states: readonly ProtocolState[];
}

/** The result of {@link selectPlugins}. */
export interface PluginOrder {
  /** The enabled plugins in the order they run. */
  readonly plugins: readonly PluginSelection[];
  /** `PLUGIN_PRIORITIES` keys that name no enabled or known plugin (probably typos). */
  readonly warnings: readonly string[];
}

/**
 * Resolve `plugins` and `PLUGIN_PRIORITIES` into the effective order, without creating anything (for
 * `--print-plugins`). Sorting is stable and descending, as iRedAPD's: equal priorities keep `plugins` order.
 *
 * @throws PolicydError `POLICYD_ERR_INVALID_OPTION` listing every name policyd does not implement (iRedAPD
 * plugins not ported yet, unknown or misspelt names) and the names that are available.
 *
 * @example
 * ```ts
 * selectPlugins({ names: ['amavisd_wblist', 'greylisting'], priorities: { amavisd_wblist: 90 } }).plugins;
 * // [{ name: 'amavisd_wblist', priority: 90, … }, { name: 'greylisting', priority: 80, … }]
 * ```
 */
export function selectPlugins(plugins: DaemonConfig['plugins']): PluginOrder {
  const missing = plugins.names.filter((name) => ENTRIES.get(name)?.create === undefined);
  if (missing.length > 0) {
    const known = IREDAPD_PLUGINS.map((e) => e.name);
    const why = missing.map((name) => {
      if (ENTRIES.has(name)) return `'${name}' (an iRedAPD plugin policyd does not implement yet)`;
      const hint = didYouMean(name, known);
      return `'${name}' (unknown plugin${hint === undefined ? '' : `; did you mean '${hint}'?`})`;
    });
    throw new PolicydError(
      'POLICYD_ERR_INVALID_OPTION',
      `plugins: cannot load ${why.join(', ')}; remove ${missing.length === 1 ? 'it' : 'them'} from plugins. ` +
        `Available: ${AVAILABLE_PLUGINS.join(', ')}`,
      { value: missing },
    );
  }
  const priorities = { ...IREDAPD_PLUGIN_PRIORITIES, ...plugins.priorities };
  const selection = plugins.names.map((name) =>
    Object.freeze({ name, priority: priorities[name] ?? 0, states: ENTRIES.get(name)!.states }),
  );
  // Array.prototype.sort is stable: equal priorities keep the order of `plugins`, as in iRedAPD.
  selection.sort((a, b) => b.priority - a.priority);
  const enabled = new Set(plugins.names);
  const warnings = Object.keys(plugins.priorities)
    .filter((name) => !enabled.has(name) && !(name in IREDAPD_PLUGIN_PRIORITIES) && !ENTRIES.has(name))
    .map(
      (name) =>
        `PLUGIN_PRIORITIES names '${name}', which is not an enabled plugin` +
        didYouMeanHint(name, plugins.names),
    );
  return Object.freeze({ plugins: Object.freeze(selection), warnings: Object.freeze(warnings) });
}

function disabledPlugin(selection: PluginSelection, database: DatabaseName): PolicyPlugin {
  const reason = `${database} database disabled in the settings`;
  return Object.freeze({
    name: selection.name,
    priority: selection.priority,
    states: selection.states,
    check: () => Decision.dunno(reason),
  });
}

/**
 * Create the plugins of a {@link selectPlugins} order, with their iRedAPD names and effective priorities.
 *
 * @throws PolicydError from a plugin factory (its message prefixed with the plugin name) for options it
 * rejects.
 *
 * @example
 * ```ts
 * const order = selectPlugins(config.plugins);
 * const policy = await createPolicy({ plugins: createPlugins(order, { config, stores: storage }) });
 * ```
 */
export function createPlugins(order: PluginOrder, context: PluginContext): readonly PolicyPlugin[] {
  const disabled = context.disabled ?? new Set<DatabaseName>();
  const input: PluginFactoryInput = {
    context,
    domains: disabled.has('vmail') ? createMemoryDomainStore() : context.stores.domains,
    trusted: createTrustedNetworks(context.config.mynetworks),
  };
  return Object.freeze(
    order.plugins.map((selection) => {
      const entry = ENTRIES.get(selection.name);
      if (entry?.create === undefined) {
        throw new PolicydError(
          'POLICYD_ERR_INVALID_OPTION',
          `plugins: '${selection.name}' is not available`,
          {
            value: selection.name,
          },
        );
      }
      if (entry.database !== undefined && disabled.has(entry.database)) {
        return disabledPlugin(selection, entry.database);
      }
      let plugin: PolicyPlugin;
      try {
        plugin = entry.create(input);
      } catch (err) {
        if (!isPolicydError(err)) throw err;
        throw new PolicydError(err.code, `plugin ${selection.name}: ${err.message}`, {
          plugin: selection.name,
          value: err.value,
          cause: err,
        });
      }
      return Object.freeze({ ...plugin, name: selection.name, priority: selection.priority });
    }),
  );
}
