/**
 * From iRedAPD's flat settings to what the daemon's parts need: listener, storage, logging, `smtp_sessions`,
 * cleanup, trusted networks, address delimiters, the plugin list and each plugin's settings. Plain data only:
 * the plugin table turns the plugin settings into plugin options, so this mapping does not depend on the
 * plugin packages.
 */

import { resolve } from 'node:path';
import { createTrustedNetworks } from '@policyd/core';
import type { GreylistingOptions } from '@policyd/plugin-greylisting';
import type { ThrottleOptions } from '@policyd/plugin-throttle';
import type { WblistOptions } from '@policyd/plugin-wblist';
import type { IredapdSettings } from './defaults.ts';

/** pino's level names. */
export type DaemonLogLevel = 'debug' | 'info' | 'warn' | 'error' | 'fatal';

/** One SQL database (iRedAPD's `<db>_db_*` settings). */
export interface SqlDatabaseConfig {
  /** Server host name or address. */
  readonly host: string;
  /** Server port. */
  readonly port: number;
  /** Database name. */
  readonly database: string;
  /** User name. */
  readonly user: string;
  /** Password. */
  readonly password: string;
  /** Use TLS (`<db>_db_use_ssl`); iRedAPD does not verify the server certificate. */
  readonly ssl: boolean;
}

/** SQL connection pool (iRedAPD's `SQL_CONNECTION_*`, SQLAlchemy's terms). */
export interface SqlPoolConfig {
  /** Connections kept open (`SQL_CONNECTION_POOL_SIZE`; 0: no limit). */
  readonly size: number;
  /** Extra connections allowed beyond `size` (`SQL_CONNECTION_MAX_OVERFLOW`; -1: no limit). */
  readonly maxOverflow: number;
  /** Seconds after which a connection is replaced (`SQL_CONNECTION_POOL_RECYCLE`; -1: never). */
  readonly recycleSeconds: number;
}

/**
 * Where the stores live. For MySQL/PostgreSQL each of iRedAPD's three databases is `undefined` when any of its
 * server, port, name, user or password is empty: iRedAPD then runs without it (its plugins answer DUNNO).
 */
export type BackendConfig =
  | {
      /** Embedded SQLite. */
      readonly backend: 'sqlite';
      /** Absolute path of the data file (created with the schema on first start). */
      readonly path: string;
      /** How long `vmail` domain look-ups are reused, in milliseconds (`domain_cache_seconds`); 0 = off. */
      readonly domainCacheTtlMs: number;
      /**
       * How long greylisting's generated whitelist networks are kept in memory, in milliseconds
       * (`greylisting_spf_whitelist_cache_seconds`); 0 = off.
       */
      readonly spfWhitelistCacheTtlMs: number;
    }
  | {
      /** MySQL/MariaDB or PostgreSQL, as in iRedAPD. */
      readonly backend: 'mysql' | 'pgsql';
      /** Mail accounts and domains (`vmail_db_*`). */
      readonly vmail: SqlDatabaseConfig | undefined;
      /** White/blacklists (`amavisd_db_*`). */
      readonly amavisd: SqlDatabaseConfig | undefined;
      /** Greylisting, throttle, `smtp_sessions` (`iredapd_db_*`). */
      readonly iredapd: SqlDatabaseConfig | undefined;
      /** Connection pool of each database. */
      readonly pool: SqlPoolConfig;
      /** How long `vmail` domain look-ups are reused, in milliseconds (`domain_cache_seconds`); 0 = off. */
      readonly domainCacheTtlMs: number;
      /**
       * How long greylisting's generated whitelist networks are kept in memory, in milliseconds
       * (`greylisting_spf_whitelist_cache_seconds`); 0 = off.
       */
      readonly spfWhitelistCacheTtlMs: number;
    };

/** Logging. */
export interface LogConfig {
  /** Lowest level written. */
  readonly level: DaemonLogLevel;
  /** Absolute path of the log file; `undefined` for stdout. */
  readonly file: string | undefined;
}

/** When to write `smtp_sessions` rows (iRedAPD's `LOG_SMTP_SESSIONS*`). */
export interface SmtpSessionsConfig {
  /** Write rows at all. */
  readonly enabled: boolean;
  /** Skip DUNNO answers (iRedAPD defines but never reads this setting). */
  readonly bypassDunno: boolean;
  /** Skip greylisting deferrals. */
  readonly bypassGreylisting: boolean;
  /** Skip `OK` answers. */
  readonly bypassWhitelist: boolean;
}

/** Database cleanup (iRedAPD's `cleanup_db.py`). */
export interface CleanupConfig {
  /** Rows deleted per batch. */
  readonly batchSize: number;
  /** Age in days after which `smtp_sessions` rows are deleted. */
  readonly smtpSessionsExpireDays: number;
  /** Age in days after which `senderscore_cache` rows are deleted. */
  readonly senderscoreCacheDays: number;
}

/**
 * amavisd_wblist's options from the settings (`WBLIST_BYPASS_OUTGOING_EMAIL`,
 * `WBLIST_DISCARD_INSTEAD_OF_REJECT`, `ENABLE_ALL_WILDCARD_IP`); the plugin table adds the stores.
 */
export type WblistConfig = Required<
  Pick<WblistOptions, 'bypassOutgoing' | 'discardInsteadOfReject' | 'enableAllWildcardIp'>
>;

/**
 * greylisting's options from the settings (`GREYLISTING_*`, `srs_domain`, `DNS_QUERY_TIMEOUT`,
 * `greylisting_passed_client_cache_seconds`, `greylisting_write_behind`); the plugin table adds the stores,
 * `MYNETWORKS` and DNS.
 */
export interface GreylistingConfig
  extends Required<
    Pick<
      GreylistingOptions,
      | 'message'
      | 'trainingMode'
      | 'blockExpireMinutes'
      | 'authTripletExpireDays'
      | 'unauthTripletExpireDays'
      | 'bypassSpf'
      | 'srsDomain'
      | 'dnsTimeoutMs'
      | 'passedClientCacheTtlMs'
      | 'writeBehindFirstAttempts'
    >
  > {
  /**
   * `SPF_MAX_DNS_QUERIES`: DNS lookups allowed while expanding one domain's SPF record in the whitelist-domain
   * refresh (`maxLookups` of `refreshWhitelistDomains`). The SPF bypass evaluates records by RFC 7208's limits.
   */
  readonly spfMaxLookups: number;
}

/** Throttle notification e-mail (`NOTIFICATION_*`, `CMD_SENDMAIL`), for the throttle's limit event. */
export interface NotificationConfig {
  /** Recipients. */
  readonly recipients: readonly string[];
  /** Display name of the sender. */
  readonly senderName: string;
  /** sendmail command, used when no SMTP password is set. */
  readonly sendmail: string;
  /** SMTP submission server. */
  readonly smtp: {
    /** Host. */
    readonly host: string;
    /** Port. */
    readonly port: number;
    /** Use STARTTLS. */
    readonly starttls: boolean;
    /** Login user, also the From address. */
    readonly user: string;
    /** Password; `''` means use `sendmail`. */
    readonly password: string;
    /** Debug level. */
    readonly debugLevel: number;
  };
}

/**
 * throttle's options from the settings (`THROTTLE_*`, `ENABLE_ALL_WILDCARD_IP`); the plugin table adds the
 * stores and `MYNETWORKS`.
 */
export type ThrottleConfig = Required<
  Pick<
    ThrottleOptions,
    'bypassMynetworks' | 'bypassLocalRecipient' | 'bypassSameDomain' | 'enableAllWildcardIp'
  >
>;

/** Everything the daemon needs, derived from the settings. */
export interface DaemonConfig {
  /** Policy listener. */
  readonly listen: { readonly host: string; readonly port: number };
  /** Stores. */
  readonly storage: BackendConfig;
  /** Logging. */
  readonly log: LogConfig;
  /** `smtp_sessions` logging. */
  readonly smtpSessions: SmtpSessionsConfig;
  /** Database cleanup. */
  readonly cleanup: CleanupConfig;
  /** Address extension delimiters (`RECIPIENT_DELIMITERS`). */
  readonly recipientDelimiters: readonly string[];
  /** Trusted clients (`MYNETWORKS`), without the entries iRedAPD would drop (each one is a warning). */
  readonly mynetworks: readonly string[];
  /** Enabled plugins by iRedAPD name, as listed, and the `PLUGIN_PRIORITIES` overrides. */
  readonly plugins: {
    /** `plugins`, in the order given. */
    readonly names: readonly string[];
    /** `PLUGIN_PRIORITIES`. */
    readonly priorities: Readonly<Record<string, number>>;
  };
  /** DNS. */
  readonly dns: {
    /** Timeout of one query in milliseconds (`DNS_QUERY_TIMEOUT`). */
    readonly timeoutMs: number;
  };
  /** Throttle notification e-mail. */
  readonly notification: NotificationConfig;
  /** amavisd_wblist. */
  readonly wblist: WblistConfig;
  /** greylisting. */
  readonly greylisting: GreylistingConfig;
  /** throttle. */
  readonly throttle: ThrottleConfig;
}

/** Options of {@link toDaemonConfig}. */
export interface DaemonConfigOptions {
  /** Directory of the default SQLite file (`<dataDir>/policyd.sqlite`). */
  readonly dataDir: string;
  /** Directory relative paths in the settings (`sqlite_db_path`, `log_file`) are resolved against. */
  readonly baseDir: string;
}

/** The result of {@link toDaemonConfig}. */
export interface DaemonConfigResult {
  /** The configuration. */
  readonly config: DaemonConfig;
  /** Things an admin should know (a disabled database, a dropped `MYNETWORKS` entry …), one sentence each. */
  readonly warnings: readonly string[];
}

const LOG_LEVELS: Readonly<Record<IredapdSettings['log_level'], DaemonLogLevel>> = Object.freeze({
  debug: 'debug',
  info: 'info',
  warning: 'warn',
  error: 'error',
  critical: 'fatal',
});

const DATABASE_USERS: Readonly<Record<'vmail' | 'amavisd' | 'iredapd', string>> = Object.freeze({
  vmail: 'local and alias domain lookups find nothing',
  amavisd: 'amavisd_wblist answers DUNNO',
  iredapd: 'greylisting and throttle answer DUNNO and smtp_sessions is not written',
});

function sqlDatabase(
  settings: IredapdSettings,
  db: 'vmail' | 'amavisd' | 'iredapd',
  warnings: string[],
): SqlDatabaseConfig | undefined {
  const fields = {
    server: settings[`${db}_db_server`],
    port: settings[`${db}_db_port`],
    name: settings[`${db}_db_name`],
    user: settings[`${db}_db_user`],
    password: settings[`${db}_db_password`],
  };
  const empty = Object.entries(fields).find(([, value]) => value === '');
  if (empty !== undefined) {
    warnings.push(
      `${db} database disabled because ${db}_db_${empty[0]} is empty (as in iRedAPD): ${DATABASE_USERS[db]}`,
    );
    return undefined;
  }
  return Object.freeze({
    host: fields.server,
    port: Number(fields.port),
    database: fields.name,
    user: fields.user,
    password: fields.password,
    ssl: settings[`${db}_db_use_ssl`],
  });
}

function backendConfig(
  settings: IredapdSettings,
  options: DaemonConfigOptions,
  warnings: string[],
): BackendConfig {
  // Part of the storage configuration, so that a reload that changes it reopens the storage.
  const domainCacheTtlMs = settings.domain_cache_seconds * 1000;
  const spfWhitelistCacheTtlMs = settings.greylisting_spf_whitelist_cache_seconds * 1000;
  if (settings.backend === 'sqlite') {
    const path =
      settings.sqlite_db_path === ''
        ? resolve(options.dataDir, 'policyd.sqlite')
        : resolve(options.baseDir, settings.sqlite_db_path);
    return Object.freeze({ backend: 'sqlite', path, domainCacheTtlMs, spfWhitelistCacheTtlMs });
  }
  return Object.freeze({
    backend: settings.backend,
    vmail: sqlDatabase(settings, 'vmail', warnings),
    amavisd: sqlDatabase(settings, 'amavisd', warnings),
    iredapd: sqlDatabase(settings, 'iredapd', warnings),
    pool: Object.freeze({
      size: settings.SQL_CONNECTION_POOL_SIZE,
      maxOverflow: settings.SQL_CONNECTION_MAX_OVERFLOW,
      recycleSeconds: settings.SQL_CONNECTION_POOL_RECYCLE,
    }),
    domainCacheTtlMs,
    spfWhitelistCacheTtlMs,
  });
}

function trustedEntries(entries: readonly string[], warnings: string[]): readonly string[] {
  const skipped = new Set<string>();
  createTrustedNetworks(entries, {
    onInvalid: (entry, why) => {
      skipped.add(entry);
      warnings.push(`MYNETWORKS entry '${entry}' skipped (iRedAPD ignores it too): ${why}`);
    },
  });
  return Object.freeze(entries.filter((entry) => !skipped.has(entry)));
}

/**
 * Derive the daemon's configuration from validated settings.
 *
 * @example
 * ```ts
 * const { config } = toDaemonConfig(DEFAULT_SETTINGS, { dataDir: 'data', baseDir: process.cwd() });
 * config.listen; // { host: '127.0.0.1', port: 7777 }
 * config.storage; // { backend: 'sqlite', path: '/…/data/policyd.sqlite', domainCacheTtlMs: 30000, … }
 * ```
 */
export function toDaemonConfig(settings: IredapdSettings, options: DaemonConfigOptions): DaemonConfigResult {
  const warnings: string[] = [];
  if (settings.srs_secrets.length > 0 && settings.srs_domain !== '') {
    warnings.push(
      `SRS is configured (srs_domain '${settings.srs_domain}') but policyd has no SRS listeners: ` +
        `remove tcp:…:${settings.srs_forward_port} and tcp:…:${settings.srs_reverse_port} from Postfix's ` +
        'sender_canonical_maps and recipient_canonical_maps, or keep iRedAPD for SRS',
    );
  }
  const storage = backendConfig(settings, options, warnings);
  const mynetworks = trustedEntries(settings.MYNETWORKS, warnings);
  const timeoutMs = Math.round(settings.DNS_QUERY_TIMEOUT * 1000);
  const config: DaemonConfig = {
    listen: Object.freeze({ host: settings.listen_address, port: settings.listen_port }),
    storage,
    log: Object.freeze({
      level: LOG_LEVELS[settings.log_level],
      file: settings.log_file === '' ? undefined : resolve(options.baseDir, settings.log_file),
    }),
    smtpSessions: Object.freeze({
      enabled: settings.LOG_SMTP_SESSIONS,
      bypassDunno: settings.LOG_SMTP_SESSIONS_BYPASS_DUNNO,
      bypassGreylisting: settings.LOG_SMTP_SESSIONS_BYPASS_GREYLISTING,
      bypassWhitelist: settings.LOG_SMTP_SESSIONS_BYPASS_WHITELIST,
    }),
    cleanup: Object.freeze({
      batchSize: settings.CLEANUP_QUERY_SIZE_LIMIT,
      smtpSessionsExpireDays: settings.LOG_SMTP_SESSIONS_EXPIRE_DAYS,
      senderscoreCacheDays: settings.SENDERSCORE_CACHE_DAYS,
    }),
    recipientDelimiters: settings.RECIPIENT_DELIMITERS,
    mynetworks,
    plugins: Object.freeze({ names: settings.plugins, priorities: settings.PLUGIN_PRIORITIES }),
    dns: Object.freeze({ timeoutMs }),
    notification: Object.freeze({
      recipients: settings.NOTIFICATION_RECIPIENTS,
      senderName: settings.NOTIFICATION_SENDER_NAME,
      sendmail: settings.CMD_SENDMAIL,
      smtp: Object.freeze({
        host: settings.NOTIFICATION_SMTP_SERVER,
        port: settings.NOTIFICATION_SMTP_PORT,
        starttls: settings.NOTIFICATION_SMTP_STARTTLS,
        user: settings.NOTIFICATION_SMTP_USER,
        password: settings.NOTIFICATION_SMTP_PASSWORD,
        debugLevel: settings.NOTIFICATION_SMTP_DEBUG_LEVEL,
      }),
    }),
    wblist: Object.freeze({
      bypassOutgoing: settings.WBLIST_BYPASS_OUTGOING_EMAIL,
      discardInsteadOfReject: settings.WBLIST_DISCARD_INSTEAD_OF_REJECT,
      enableAllWildcardIp: settings.ENABLE_ALL_WILDCARD_IP,
    }),
    greylisting: Object.freeze({
      message: settings.GREYLISTING_MESSAGE,
      trainingMode: settings.GREYLISTING_TRAINING_MODE,
      blockExpireMinutes: settings.GREYLISTING_BLOCK_EXPIRE,
      authTripletExpireDays: settings.GREYLISTING_AUTH_TRIPLET_EXPIRE,
      unauthTripletExpireDays: settings.GREYLISTING_UNAUTH_TRIPLET_EXPIRE,
      bypassSpf: settings.GREYLISTING_BYPASS_SPF,
      srsDomain: settings.srs_domain,
      dnsTimeoutMs: timeoutMs,
      spfMaxLookups: settings.SPF_MAX_DNS_QUERIES,
      passedClientCacheTtlMs: settings.greylisting_passed_client_cache_seconds * 1000,
      writeBehindFirstAttempts: settings.greylisting_write_behind,
    }),
    throttle: Object.freeze({
      bypassMynetworks: settings.THROTTLE_BYPASS_MYNETWORKS,
      bypassLocalRecipient: settings.THROTTLE_BYPASS_LOCAL_RECIPIENT,
      bypassSameDomain: settings.THROTTLE_BYPASS_SAME_DOMAIN,
      enableAllWildcardIp: settings.ENABLE_ALL_WILDCARD_IP,
    }),
  };
  return { config: Object.freeze(config), warnings: Object.freeze(warnings) };
}
