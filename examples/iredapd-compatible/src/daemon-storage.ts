/**
 * Opening the daemon's stores from its backend settings: SQLite with its schema created on first start, or
 * iRedMail's MySQL/PostgreSQL databases used exactly as they are — their schema is checked, never altered.
 */

import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import {
  createMemorySmtpSessionLog,
  createMemoryStores,
  type Logger,
  PolicydError,
  type SmtpSessionLog,
} from '@policyd/core';
import { type KnexStorage, openStorage } from '@policyd/storage-knex';
import type { PluginStores } from './plugin-table.ts';
import type { DaemonConfig } from './settings/daemon-config.ts';
import { type DatabaseName, storagePlan } from './storage-plan.ts';

/** The daemon's open stores. */
export interface DaemonStorage {
  /** The stores plugins use. */
  readonly stores: PluginStores;
  /** The SQL request log (`iredapd.smtp_sessions`). */
  readonly smtpSessions: SmtpSessionLog;
  /** Databases the settings disable (their plugins answer DUNNO; no `smtp_sessions` without `iredapd`). */
  readonly disabled: ReadonlySet<DatabaseName>;
  /** The SQL storage, `undefined` when every database is disabled. */
  readonly sql: KnexStorage | undefined;
  /** What it is, for the start-up line: `sqlite /var/lib/policyd/policyd.sqlite`, `mysql`, `pgsql`. */
  readonly description: string;
  /** True when this call created a new SQLite database (see `applyInstallDefaults`). */
  readonly created: boolean;
  /** Close the connections. */
  close(): Promise<void>;
}

/** Options of {@link openDaemonStorage}. */
export interface OpenDaemonStorageOptions {
  /** Where knex's warnings and the schema report go. */
  readonly logger: Logger;
  /**
   * Run no schema check (explain, print-plugins); SQLite still gets its tables created when the file is new.
   * Default false.
   */
  readonly skipSchemaCheck?: boolean;
  /**
   * When the SQLite file does not exist: create it (default true), or use an empty in-memory database
   * instead, so that nothing is written to disk (explain).
   */
  readonly createSqliteFile?: boolean;
}

// The tables each feature reads or writes; a missing one is a start-up error when the feature is enabled.
const FEATURE_TABLES: Readonly<Record<string, readonly string[]>> = Object.freeze({
  amavisd_wblist: ['amavisd.users', 'amavisd.mailaddr', 'amavisd.wblist', 'amavisd.outbound_wblist'],
  greylisting: [
    'iredapd.greylisting',
    'iredapd.greylisting_tracking',
    'iredapd.greylisting_whitelists',
    'iredapd.greylisting_whitelist_domain_spf',
  ],
  throttle: ['iredapd.throttle', 'iredapd.throttle_tracking'],
  smtp_sessions: ['iredapd.smtp_sessions'],
  domains: ['vmail.domain', 'vmail.alias_domain'],
});

// Columns only policyd's optional features use (storage-knex adds them with migrate(); the throttle store
// works without them): the sliding-window counters. Everything else missing in a needed table is an error.
const OPTIONAL_COLUMNS: ReadonlySet<string> = new Set([
  'iredapd.throttle_tracking.prev_msgs',
  'iredapd.throttle_tracking.prev_quota',
]);

/** The tables the enabled plugins and `smtp_sessions` need, as `database.table`. */
export function requiredTables(config: DaemonConfig, disabled: ReadonlySet<DatabaseName>): Set<string> {
  const needed = new Set<string>();
  const add = (feature: string): void => {
    for (const table of FEATURE_TABLES[feature] ?? []) {
      if (!disabled.has(table.slice(0, table.indexOf('.')) as DatabaseName)) needed.add(table);
    }
  };
  for (const name of config.plugins.names) {
    add(name);
    if (name === 'amavisd_wblist' || name === 'greylisting' || name === 'throttle') add('domains');
  }
  if (config.smtpSessions.enabled) add('smtp_sessions');
  return needed;
}

/**
 * Sort a schema check's `missing` list into what stops the daemon (a table a feature needs, or a column of one)
 * and what is only worth a warning (tables no enabled feature uses, policyd's optional columns).
 */
export function classifyMissing(
  missing: readonly string[],
  needed: ReadonlySet<string>,
): { readonly fatal: readonly string[]; readonly other: readonly string[] } {
  const fatal: string[] = [];
  const other: string[] = [];
  for (const item of missing) {
    const table = item.split('.').slice(0, 2).join('.');
    if (needed.has(table) && !OPTIONAL_COLUMNS.has(item)) fatal.push(item);
    else other.push(item);
  }
  return { fatal, other };
}

async function checkSchema(
  storage: KnexStorage,
  config: DaemonConfig,
  disabled: ReadonlySet<DatabaseName>,
  logger: Logger,
): Promise<void> {
  const { missing } = await storage.checkSchema();
  const { fatal, other } = classifyMissing(missing, requiredTables(config, disabled));
  if (other.length > 0) {
    logger.warn(
      { missing: other },
      `database schema: not present, and not needed by the enabled plugins: ${other.join(', ')}`,
    );
  }
  if (fatal.length > 0) {
    throw new PolicydError(
      'POLICYD_ERR_STORE',
      `database schema: missing ${fatal.join(', ')}. policyd never alters an existing iRedMail database: ` +
        "create them with iRedAPD's SQL files (SQL/iredapd.mysql or .pgsql, and SQL/update/ for columns " +
        'added by upgrades), or disable the plugins that need them',
      { value: fatal },
    );
  }
}

/**
 * Open the stores the configuration names. SQLite: the file (and its directory's schema) is created on first
 * start. MySQL/PostgreSQL: the databases are used as they are, after a schema check that fails start-up when a
 * table an enabled plugin (or `LOG_SMTP_SESSIONS`) needs is missing. Every database disabled: in-memory
 * stores, which the disabled plugins never touch.
 *
 * @throws PolicydError `POLICYD_ERR_STORE` when a database cannot be reached or lacks a needed table,
 * `POLICYD_ERR_INVALID_OPTION` for bad settings
 *
 * @example
 * ```ts
 * const storage = await openDaemonStorage(loaded.config, { logger });
 * const plugins = createPlugins(order, { config, stores: storage.stores, disabled: storage.disabled });
 * ```
 */
export async function openDaemonStorage(
  config: DaemonConfig,
  options: OpenDaemonStorageOptions,
): Promise<DaemonStorage> {
  const plan = storagePlan(config.storage);
  if (plan.open === undefined) {
    const stores = createMemoryStores();
    return {
      stores,
      smtpSessions: createMemorySmtpSessionLog(),
      disabled: plan.disabled,
      sql: undefined,
      description: `${config.storage.backend} (every database disabled)`,
      created: false,
      close: async () => {},
    };
  }
  let open = plan.open;
  let created = false;
  if (config.storage.backend === 'sqlite' && !existsSync(config.storage.path)) {
    created = true;
    if (options.createSqliteFile === false) {
      open = { client: 'sqlite', filename: ':memory:' };
    } else {
      // The data directory of a first start; private, as iRedAPD's umask 077.
      await mkdir(dirname(config.storage.path), { recursive: true, mode: 0o700 });
    }
  }
  const storage = await openStorage({
    ...open,
    domainCacheTtlMs: config.storage.domainCacheTtlMs,
    spfWhitelistCacheTtlMs: config.storage.spfWhitelistCacheTtlMs,
    logger: options.logger,
  });
  try {
    if (open.client !== 'sqlite' && options.skipSchemaCheck !== true) {
      await checkSchema(storage, config, plan.disabled, options.logger);
    }
  } catch (err) {
    await storage.close();
    throw err;
  }
  return {
    stores: storage,
    smtpSessions: storage.smtpSessions,
    disabled: plan.disabled,
    sql: storage,
    description:
      config.storage.backend === 'sqlite' ? `sqlite ${config.storage.path}` : config.storage.backend,
    created,
    close: () => storage.close(),
  };
}
