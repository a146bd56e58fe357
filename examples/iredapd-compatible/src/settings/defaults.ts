/**
 * Every setting the daemon knows, with iRedAPD's defaults: `libs/default_settings.py` (what
 * `from libs.default_settings import *` binds), the values of `settings.py.sample` for the settings iRedAPD
 * has no default for, and the few settings policyd adds. Names are iRedAPD's, unchanged, so the same keys work
 * in `settings.py` and in a JSON config.
 */

/** Backends: iRedAPD's SQL ones plus an embedded SQLite file. */
export type SettingsBackend = 'mysql' | 'pgsql' | 'sqlite';

/** Log level names as Python's `logging` spells them (lower case). */
export type SettingsLogLevel = 'debug' | 'info' | 'warning' | 'error' | 'critical';

/**
 * All settings, typed and validated. Database ports stay strings as in iRedAPD (`''` disables a database);
 * listener ports are numbers (iRedAPD passes them through `int()`, so `"7777"` is accepted on input).
 */
export interface IredapdSettings {
  // --- Listener and process (settings.py.sample) ---
  /** Address to listen on; iRedAPD default `'127.0.0.1'`. */
  readonly listen_address: string;
  /** Policy port; default 7777. */
  readonly listen_port: number;
  /** SRS forward (tcp_table) port; default 7778. SRS is not implemented by policyd. */
  readonly srs_forward_port: number;
  /** SRS reverse (tcp_table) port; default 7779. SRS is not implemented by policyd. */
  readonly srs_reverse_port: number;
  /** User iRedAPD switches to; default `'iredapd'`. Not used: run policyd as that user (systemd `User=`). */
  readonly run_as_user: string;
  /** PID file; default `'/var/run/iredapd.pid'`. Not used: policyd stays in the foreground. */
  readonly pid_file: string;
  /** Log level; default `'info'`. */
  readonly log_level: SettingsLogLevel;
  /** Database backend. Required in a settings file; `'sqlite'` when the daemon runs without one. */
  readonly backend: SettingsBackend;
  /** Enabled plugins by iRedAPD name. Required in a settings file. */
  readonly plugins: readonly string[];
  /** SRS secrets; default `[]`. */
  readonly srs_secrets: readonly string[];
  /** SRS domain; default `''`. Greylisting skips its SPF check for senders in this domain. */
  readonly srs_domain: string;
  /** LDAP URI (LDAP backend, not supported); default `'ldap://127.0.0.1:389'`. */
  readonly ldap_uri: string;
  /** LDAP search base (LDAP backend, not supported). */
  readonly ldap_basedn: string;
  /** LDAP bind DN (LDAP backend, not supported). */
  readonly ldap_binddn: string;
  /** LDAP bind password (LDAP backend, not supported). */
  readonly ldap_bindpw: string;
  /** StartTLS for LDAP (LDAP backend, not supported); default `False`. */
  readonly ldap_enable_tls: boolean;
  /** vmail database server; default `'127.0.0.1'`. */
  readonly vmail_db_server: string;
  /** vmail database port; default `'3306'`. */
  readonly vmail_db_port: string;
  /** vmail database name; default `'vmail'`. */
  readonly vmail_db_name: string;
  /** vmail database user; default `'vmail'`. */
  readonly vmail_db_user: string;
  /** vmail database password; default `'password'` (the sample's placeholder). */
  readonly vmail_db_password: string;
  /** TLS to the vmail database; default `False`. */
  readonly vmail_db_use_ssl: boolean;
  /** amavisd database server; default `'127.0.0.1'`. */
  readonly amavisd_db_server: string;
  /** amavisd database port; default `'3306'`. */
  readonly amavisd_db_port: string;
  /** amavisd database name; default `'amavisd'`. */
  readonly amavisd_db_name: string;
  /** amavisd database user; default `'amavisd'`. */
  readonly amavisd_db_user: string;
  /** amavisd database password; default `'password'`. */
  readonly amavisd_db_password: string;
  /** TLS to the amavisd database; default `False`. */
  readonly amavisd_db_use_ssl: boolean;
  /** iredapd database server; default `'127.0.0.1'`. */
  readonly iredapd_db_server: string;
  /** iredapd database port; default `'3306'`. */
  readonly iredapd_db_port: string;
  /** iredapd database name; default `'iredapd'`. */
  readonly iredapd_db_name: string;
  /** iredapd database user; default `'iredapd'`. */
  readonly iredapd_db_user: string;
  /** iredapd database password; default `'password'`. */
  readonly iredapd_db_password: string;
  /** TLS to the iredapd database; default `False`. */
  readonly iredapd_db_use_ssl: boolean;
  /** mlmmjadmin API URL (sql_ml_access_policy, not implemented). */
  readonly mlmmjadmin_api_endpoint: string;
  /** mlmmjadmin API token (sql_ml_access_policy, not implemented). */
  readonly mlmmjadmin_api_auth_token: string;

  // --- policyd additions ---
  /** SQLite data file (`backend = 'sqlite'`); `''` means `policyd.sqlite` in the data directory. */
  readonly sqlite_db_path: string;
  /** Log file; `''` (default) logs to stdout. The key of iRedAPD 1.x's sample, where it meant the same. */
  readonly log_file: string;
  /**
   * Seconds a `vmail` domain look-up (hosted, backup MX, alias target — or not hosted) is reused, shared by
   * every plugin; default 30, `0` = every request reads `vmail`. A domain added in the admin panel is seen
   * within this time.
   */
  readonly domain_cache_seconds: number;
  /**
   * Seconds greylisting remembers that a client passed greylisting, answering its requests without SQL;
   * default 60, `0` = every request reads the tracking table (iRedAPD's behaviour). A client whose tracking
   * rows are deleted is still let through for up to this time.
   */
  readonly greylisting_passed_client_cache_seconds: number;
  /**
   * Seconds greylisting keeps the generated whitelist networks (`greylisting_whitelist_domain_spf`, refreshed
   * daily by the whitelist-domain cron job) in memory before reloading them in the background; default 60,
   * `0` = every request reads the table (iRedAPD's behaviour). Rows the cron job writes are seen within this
   * time; policyd's own refresh is seen at once.
   */
  readonly greylisting_spf_whitelist_cache_seconds: number;
  /**
   * Greylisting answers a triplet's first attempt before writing its tracking row, and writes the rows of
   * many first attempts together; default `True`, `False` = the row is written before the answer (iRedAPD's
   * behaviour). A row whose write fails is logged, and the triplet's retry is deferred as a first attempt.
   */
  readonly greylisting_write_behind: boolean;

  // --- libs/default_settings.py ---
  /** Syslog socket or host; default `'/dev/log'`. Not used: policyd logs to stdout or `log_file`. */
  readonly SYSLOG_SERVER: string;
  /** Syslog UDP port; default 514. Not used. */
  readonly SYSLOG_PORT: number;
  /** Syslog facility; default `'local5'`. Not used. */
  readonly SYSLOG_FACILITY: string;
  /** Priorities merged over the built-in table; higher runs first; default `{}`. */
  readonly PLUGIN_PRIORITIES: Readonly<Record<string, number>>;
  /** Trusted clients: IPs, wildcard IPv4 patterns, networks; default `[]`. */
  readonly MYNETWORKS: readonly string[];
  /** Address extension delimiters; default `['+']`. */
  readonly RECIPIENT_DELIMITERS: readonly string[];
  /** SQL pool size; default 10. */
  readonly SQL_CONNECTION_POOL_SIZE: number;
  /** Extra SQL connections beyond the pool size; default 10 (-1: no limit). */
  readonly SQL_CONNECTION_MAX_OVERFLOW: number;
  /** Seconds after which an idle SQL connection is replaced; default 60. */
  readonly SQL_CONNECTION_POOL_RECYCLE: number;
  /** Python SQL driver; default `''`. Not used: policyd uses mysql2 and pg. */
  readonly SQL_DB_DRIVER: string;
  /** DNS query timeout in seconds; default 3.0. */
  readonly DNS_QUERY_TIMEOUT: number;
  /** Write the `smtp_sessions` table; default `True`. */
  readonly LOG_SMTP_SESSIONS: boolean;
  /** Days `smtp_sessions` rows are kept by the cleanup; default 7. */
  readonly LOG_SMTP_SESSIONS_EXPIRE_DAYS: number;
  /** Don't log DUNNO (END-OF-MESSAGE) sessions; default `False`. iRedAPD never reads it; policyd does. */
  readonly LOG_SMTP_SESSIONS_BYPASS_DUNNO: boolean;
  /** Don't log greylisting deferrals; default `False`. */
  readonly LOG_SMTP_SESSIONS_BYPASS_GREYLISTING: boolean;
  /** Don't log `OK` (whitelisted) sessions; default `False`. */
  readonly LOG_SMTP_SESSIONS_BYPASS_WHITELIST: boolean;
  /** Dead since iRedAPD 4.7; default 10. */
  readonly TRACKING_EXPIRE_SECONDS: number;
  /** DNS lookups allowed while expanding one SPF record; default 20. */
  readonly SPF_MAX_DNS_QUERIES: number;
  /** Generate every wildcard form of a client IPv4 address; default `False`. */
  readonly ENABLE_ALL_WILDCARD_IP: boolean;
  /** amavisd_wblist: skip the lists for authenticated senders; default `False`. */
  readonly WBLIST_BYPASS_OUTGOING_EMAIL: boolean;
  /** amavisd_wblist: `DISCARD` blacklisted mail instead of rejecting it; default `False`. */
  readonly WBLIST_DISCARD_INSTEAD_OF_REJECT: boolean;
  /** Force-change-password plugins (not implemented); default 90. */
  readonly CHANGE_PASSWORD_DAYS: number;
  /** Force-change-password plugins (not implemented). */
  readonly CHANGE_PASSWORD_MESSAGE: string;
  /** Force-change-password plugins (not implemented); default `[]`. */
  readonly CHANGE_PASSWORD_NEVER_EXPIRE_USERS: readonly string[];
  /** reject_sender_login_mismatch (not implemented); default `True`. */
  readonly CHECK_FORGED_SENDER: boolean;
  /** reject_sender_login_mismatch (not implemented); default `[]`. */
  readonly ALLOWED_FORGED_SENDERS: readonly string[];
  /** reject_sender_login_mismatch (not implemented); default `True`. */
  readonly CHECK_SPF_IF_LOGIN_MISMATCH: boolean;
  /** reject_sender_login_mismatch (not implemented); default `[]`. */
  readonly ALLOWED_LOGIN_MISMATCH_SENDERS: readonly string[];
  /** reject_sender_login_mismatch (not implemented); default `True`. */
  readonly ALLOWED_LOGIN_MISMATCH_STRICTLY: boolean;
  /** reject_sender_login_mismatch (not implemented); default `False`. */
  readonly ALLOWED_LOGIN_MISMATCH_LIST_MEMBER: boolean;
  /** greylisting: text after `451 4.7.1 `; default `'Intentional policy rejection, please try again later'`. */
  readonly GREYLISTING_MESSAGE: string;
  /** greylisting: track but never defer; default `False`. */
  readonly GREYLISTING_TRAINING_MODE: boolean;
  /** greylisting: minutes before a retry is accepted; default 15. */
  readonly GREYLISTING_BLOCK_EXPIRE: number;
  /** greylisting: days a passed triplet is remembered; default 30. */
  readonly GREYLISTING_AUTH_TRIPLET_EXPIRE: number;
  /** greylisting: days an unpassed triplet is kept; default 1. */
  readonly GREYLISTING_UNAUTH_TRIPLET_EXPIRE: number;
  /** greylisting: don't greylist clients listed in the sender domain's SPF record; default `True`. */
  readonly GREYLISTING_BYPASS_SPF: boolean;
  /** whitelist_outbound_recipient (not implemented); default `True`. */
  readonly WL_RCPT_FOR_GREYLISTING: boolean;
  /** whitelist_outbound_recipient (not implemented); default `False`. */
  readonly WL_RCPT_WITHOUT_SPF: boolean;
  /** whitelist_outbound_recipient (not implemented); default `'user'`. */
  readonly WL_RCPT_LOCAL_ACCOUNT: string;
  /** whitelist_outbound_recipient (not implemented); default `'user'`. */
  readonly WL_RCPT_RCPT: string;
  /** whitelist_outbound_recipient (not implemented); default `False`. */
  readonly WL_RCPT_WHITELIST_DOMAIN_FOR_GREYLISTING: boolean;
  /** throttle: skip trusted clients (`MYNETWORKS`); default `False`. */
  readonly THROTTLE_BYPASS_MYNETWORKS: boolean;
  /** throttle: skip recipient throttling for authenticated senders; default `True`. */
  readonly THROTTLE_BYPASS_LOCAL_RECIPIENT: boolean;
  /** throttle: skip throttling when sender and recipient domains are equal; default `True`. */
  readonly THROTTLE_BYPASS_SAME_DOMAIN: boolean;
  /** senderscore (not implemented); default 30. */
  readonly SENDERSCORE_REJECT_SCORE: number;
  /** Days `senderscore_cache` rows are kept by the cleanup; default 2. */
  readonly SENDERSCORE_CACHE_DAYS: number;
  /** mlmmjadmin integration (not implemented). */
  readonly MLMMJADMIN_API_AUTH_TOKEN_HEADER_NAME: string;
  /** throttle notifications: sendmail command; default `'/usr/sbin/sendmail'`. */
  readonly CMD_SENDMAIL: string;
  /** throttle notifications: recipients; default `['root']`. */
  readonly NOTIFICATION_RECIPIENTS: readonly string[];
  /** throttle notifications: SMTP server; default `'localhost'`. */
  readonly NOTIFICATION_SMTP_SERVER: string;
  /** throttle notifications: SMTP port; default 587. */
  readonly NOTIFICATION_SMTP_PORT: number;
  /** throttle notifications: STARTTLS; default `True`. */
  readonly NOTIFICATION_SMTP_STARTTLS: boolean;
  /** throttle notifications: SMTP user and From address; default `'no-reply@localhost.localdomain'`. */
  readonly NOTIFICATION_SMTP_USER: string;
  /** throttle notifications: SMTP password; default `''` (then `CMD_SENDMAIL` is used). */
  readonly NOTIFICATION_SMTP_PASSWORD: string;
  /** throttle notifications: SMTP debug level; default 0. */
  readonly NOTIFICATION_SMTP_DEBUG_LEVEL: number;
  /** throttle notifications: sender display name; default `'No Reply'`. */
  readonly NOTIFICATION_SENDER_NAME: string;
  /** Rows deleted per batch by the cleanup; default 1000. */
  readonly CLEANUP_QUERY_SIZE_LIMIT: number;
}

/** A setting name. */
export type SettingName = keyof IredapdSettings;

/**
 * What `from libs.default_settings import *` binds in iRedAPD 6.1: the values of `libs/default_settings.py`.
 */
export const IREDAPD_DEFAULT_SETTINGS = Object.freeze({
  SYSLOG_SERVER: '/dev/log',
  SYSLOG_PORT: 514,
  SYSLOG_FACILITY: 'local5',
  PLUGIN_PRIORITIES: Object.freeze({}),
  MYNETWORKS: Object.freeze([]),
  RECIPIENT_DELIMITERS: Object.freeze(['+']),
  SQL_CONNECTION_POOL_SIZE: 10,
  SQL_CONNECTION_MAX_OVERFLOW: 10,
  SQL_CONNECTION_POOL_RECYCLE: 60,
  SQL_DB_DRIVER: '',
  DNS_QUERY_TIMEOUT: 3.0,
  LOG_SMTP_SESSIONS: true,
  LOG_SMTP_SESSIONS_EXPIRE_DAYS: 7,
  LOG_SMTP_SESSIONS_BYPASS_DUNNO: false,
  LOG_SMTP_SESSIONS_BYPASS_GREYLISTING: false,
  LOG_SMTP_SESSIONS_BYPASS_WHITELIST: false,
  TRACKING_EXPIRE_SECONDS: 10,
  SPF_MAX_DNS_QUERIES: 20,
  ENABLE_ALL_WILDCARD_IP: false,
  WBLIST_BYPASS_OUTGOING_EMAIL: false,
  WBLIST_DISCARD_INSTEAD_OF_REJECT: false,
  CHANGE_PASSWORD_DAYS: 90,
  CHANGE_PASSWORD_MESSAGE:
    'Password expired or never changed, please change your password in webmail before sending email',
  CHANGE_PASSWORD_NEVER_EXPIRE_USERS: Object.freeze([]),
  CHECK_FORGED_SENDER: true,
  ALLOWED_FORGED_SENDERS: Object.freeze([]),
  CHECK_SPF_IF_LOGIN_MISMATCH: true,
  ALLOWED_LOGIN_MISMATCH_SENDERS: Object.freeze([]),
  ALLOWED_LOGIN_MISMATCH_STRICTLY: true,
  ALLOWED_LOGIN_MISMATCH_LIST_MEMBER: false,
  GREYLISTING_MESSAGE: 'Intentional policy rejection, please try again later',
  GREYLISTING_TRAINING_MODE: false,
  GREYLISTING_BLOCK_EXPIRE: 15,
  GREYLISTING_AUTH_TRIPLET_EXPIRE: 30,
  GREYLISTING_UNAUTH_TRIPLET_EXPIRE: 1,
  GREYLISTING_BYPASS_SPF: true,
  WL_RCPT_FOR_GREYLISTING: true,
  WL_RCPT_WITHOUT_SPF: false,
  WL_RCPT_LOCAL_ACCOUNT: 'user',
  WL_RCPT_RCPT: 'user',
  WL_RCPT_WHITELIST_DOMAIN_FOR_GREYLISTING: false,
  THROTTLE_BYPASS_MYNETWORKS: false,
  THROTTLE_BYPASS_LOCAL_RECIPIENT: true,
  THROTTLE_BYPASS_SAME_DOMAIN: true,
  SENDERSCORE_REJECT_SCORE: 30,
  SENDERSCORE_CACHE_DAYS: 2,
  MLMMJADMIN_API_AUTH_TOKEN_HEADER_NAME: 'X-MLMMJADMIN-API-AUTH-TOKEN',
  CMD_SENDMAIL: '/usr/sbin/sendmail',
  NOTIFICATION_RECIPIENTS: Object.freeze(['root']),
  NOTIFICATION_SMTP_SERVER: 'localhost',
  NOTIFICATION_SMTP_PORT: 587,
  NOTIFICATION_SMTP_STARTTLS: true,
  NOTIFICATION_SMTP_USER: 'no-reply@localhost.localdomain',
  NOTIFICATION_SMTP_PASSWORD: '',
  NOTIFICATION_SMTP_DEBUG_LEVEL: 0,
  NOTIFICATION_SENDER_NAME: 'No Reply',
  CLEANUP_QUERY_SIZE_LIMIT: 1000,
} satisfies Partial<IredapdSettings>);

/**
 * Settings iRedAPD has no default for (its `settings.py.sample` sets them), with the sample's values; a
 * settings file that leaves one out gets this value. `backend` and `plugins` are not here: a settings file
 * must set them, as iRedAPD requires.
 */
export const IREDAPD_SAMPLE_SETTINGS = Object.freeze({
  listen_address: '127.0.0.1',
  listen_port: 7777,
  srs_forward_port: 7778,
  srs_reverse_port: 7779,
  run_as_user: 'iredapd',
  pid_file: '/var/run/iredapd.pid',
  log_level: 'info',
  srs_secrets: Object.freeze([]),
  srs_domain: '',
  ldap_uri: 'ldap://127.0.0.1:389',
  ldap_basedn: 'o=domains,dc=iredmail,dc=org',
  ldap_binddn: 'cn=vmail,dc=iredmail,dc=org',
  ldap_bindpw: 'password',
  ldap_enable_tls: false,
  vmail_db_server: '127.0.0.1',
  vmail_db_port: '3306',
  vmail_db_name: 'vmail',
  vmail_db_user: 'vmail',
  vmail_db_password: 'password',
  vmail_db_use_ssl: false,
  amavisd_db_server: '127.0.0.1',
  amavisd_db_port: '3306',
  amavisd_db_name: 'amavisd',
  amavisd_db_user: 'amavisd',
  amavisd_db_password: 'password',
  amavisd_db_use_ssl: false,
  iredapd_db_server: '127.0.0.1',
  iredapd_db_port: '3306',
  iredapd_db_name: 'iredapd',
  iredapd_db_user: 'iredapd',
  iredapd_db_password: 'password',
  iredapd_db_use_ssl: false,
  mlmmjadmin_api_endpoint: 'http://127.0.0.1:7790/api',
  mlmmjadmin_api_auth_token: '',
} satisfies Partial<IredapdSettings>);

/** Settings policyd adds to iRedAPD's. */
export const POLICYD_EXTRA_SETTINGS = Object.freeze({
  sqlite_db_path: '',
  log_file: '',
  domain_cache_seconds: 30,
  greylisting_passed_client_cache_seconds: 60,
  greylisting_spf_whitelist_cache_seconds: 60,
  greylisting_write_behind: true,
} satisfies Partial<IredapdSettings>);

/** Plugins enabled when the daemon runs without a settings file: the set iRedMail's documentation shows. */
export const STANDALONE_PLUGINS: readonly string[] = Object.freeze([
  'reject_null_sender',
  'amavisd_wblist',
  'greylisting',
  'throttle',
]);

/** The settings files must set because iRedAPD has no default for them (it fails to start without them). */
export const REQUIRED_SETTINGS: readonly SettingName[] = Object.freeze(['backend', 'plugins']);

/**
 * The complete settings of a daemon started without a settings file: iRedAPD's defaults and sample values,
 * an SQLite backend in the data directory, and {@link STANDALONE_PLUGINS}.
 */
export const DEFAULT_SETTINGS: IredapdSettings = Object.freeze({
  ...IREDAPD_DEFAULT_SETTINGS,
  ...IREDAPD_SAMPLE_SETTINGS,
  ...POLICYD_EXTRA_SETTINGS,
  backend: 'sqlite',
  plugins: STANDALONE_PLUGINS,
});

/** Every setting name, in the order of {@link IredapdSettings}' groups. */
export const SETTING_NAMES: readonly SettingName[] = Object.freeze(
  Object.keys(DEFAULT_SETTINGS) as SettingName[],
);
