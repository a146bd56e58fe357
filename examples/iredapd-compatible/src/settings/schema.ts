/**
 * The type and range of every setting, and which ones policyd accepts but does not use (and why). One entry
 * per key of {@link IredapdSettings}; the mapped type makes a missing entry a compile error.
 */

import type { IredapdSettings, SettingsBackend, SettingsLogLevel } from './defaults.ts';
import type { PlainValue } from './python-literal.ts';

/** The outcome of checking one raw value: the normalised value, or what was expected. */
export type CheckResult<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly expected: string };

/** Checks and normalises one raw value. */
export type SettingCheck<T> = (value: PlainValue) => CheckResult<T>;

/** How one setting is read. */
export interface SettingSpec<T> {
  /** Type and range check, with normalisation (`"7777"` → 7777, `'DEBUG'` → `'debug'`). */
  readonly check: SettingCheck<T>;
  /** Set when policyd accepts the setting but does not use it: why, in a sentence an admin can act on. */
  readonly unused?: string;
}

/** Every setting's {@link SettingSpec}. */
export type SettingsSchema = { readonly [K in keyof IredapdSettings]: SettingSpec<IredapdSettings[K]> };

const ok = <T>(value: T): CheckResult<T> => ({ ok: true, value });
const bad = <T>(expected: string): CheckResult<T> => ({ ok: false, expected });

const text: SettingCheck<string> = (v) => (typeof v === 'string' ? ok(v) : bad('a string'));

const nonBlank: SettingCheck<string> = (v) =>
  typeof v === 'string' && v.trim() !== '' && !/\s/.test(v)
    ? ok(v)
    : bad('a non-empty string without spaces');

// Python code tests these with `if settings.X:`; 0 and 1 are unambiguous, anything else is a mistake.
const flag: SettingCheck<boolean> = (v) =>
  typeof v === 'boolean' ? ok(v) : v === 0 || v === 1 ? ok(v === 1) : bad('True or False');

const integer =
  (min: number, max = Number.MAX_SAFE_INTEGER): SettingCheck<number> =>
  (v) =>
    typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max
      ? ok(v)
      : bad(max === Number.MAX_SAFE_INTEGER ? `an integer ≥ ${min}` : `an integer from ${min} to ${max}`);

// iRedAPD passes ports through int(), and iRedMail's installer writes them as strings ("7777").
const port: SettingCheck<number> = (v) => {
  const n = typeof v === 'string' && /^\s*\d{1,5}\s*$/.test(v) ? Number(v) : v;
  return typeof n === 'number' && Number.isInteger(n) && n >= 1 && n <= 65535
    ? ok(n)
    : bad('a port number from 1 to 65535');
};

// Database ports stay strings as in iRedAPD; '' disables the database like any other empty credential.
const dbPort: SettingCheck<string> = (v) => {
  if (v === '') return ok('');
  const checked = port(v);
  return checked.ok ? ok(String(checked.value)) : bad("a port number from 1 to 65535 (or '' to disable)");
};

const seconds: SettingCheck<number> = (v) =>
  typeof v === 'number' && v > 0 && v <= 300 ? ok(v) : bad('a number of seconds above 0 and at most 300');

const textList =
  (nonEmpty: boolean): SettingCheck<readonly string[]> =>
  (v) =>
    Array.isArray(v) && v.every((x) => typeof x === 'string' && (!nonEmpty || x !== ''))
      ? ok(Object.freeze([...(v as string[])]))
      : bad(nonEmpty ? 'a list of non-empty strings' : 'a list of strings');

const plugins: SettingCheck<readonly string[]> = (v) => {
  const list = textList(true)(v);
  if (!list.ok) return list;
  const seen = new Set<string>();
  for (const name of list.value) {
    if (seen.has(name)) return bad(`a list of distinct plugin names ('${name}' is listed twice)`);
    seen.add(name);
  }
  return list;
};

const priorities: SettingCheck<Readonly<Record<string, number>>> = (v) =>
  typeof v === 'object' &&
  v !== null &&
  !Array.isArray(v) &&
  Object.values(v).every((x) => typeof x === 'number' && Number.isFinite(x))
    ? ok(Object.freeze(Object.assign(Object.create(null), v) as Record<string, number>))
    : bad("a dict of plugin names to numbers, e.g. {'greylisting': 85}");

const BACKENDS: readonly SettingsBackend[] = ['mysql', 'pgsql', 'sqlite'];
const backend: SettingCheck<SettingsBackend> = (v) => {
  if (v === 'ldap') {
    return bad(
      "'mysql', 'pgsql' or 'sqlite': the LDAP backend is not supported by policyd (keep iRedAPD for LDAP installs)",
    );
  }
  return typeof v === 'string' && (BACKENDS as readonly string[]).includes(v)
    ? ok(v as SettingsBackend)
    : bad("'mysql', 'pgsql' or 'sqlite'");
};

const LOG_LEVELS: Readonly<Record<string, SettingsLogLevel>> = Object.freeze({
  debug: 'debug',
  info: 'info',
  warning: 'warning',
  warn: 'warning',
  error: 'error',
  critical: 'critical',
  fatal: 'critical',
});
const logLevel: SettingCheck<SettingsLogLevel> = (v) => {
  const level = typeof v === 'string' ? LOG_LEVELS[v.toLowerCase()] : undefined;
  return level === undefined ? bad("'debug', 'info', 'warning', 'error' or 'critical'") : ok(level);
};

const SRS = 'SRS is not implemented by policyd';
const LDAP = 'the LDAP backend is not supported by policyd';
const SYSLOG =
  'policyd logs to stdout or to log_file, not to syslog (journald captures stdout under systemd)';
const NOT_IMPLEMENTED = (plugin: string): string => `the ${plugin} plugin is not implemented by policyd`;

/** The type, range and use of every setting. */
export const SETTINGS_SCHEMA: SettingsSchema = Object.freeze({
  listen_address: { check: nonBlank },
  listen_port: { check: port },
  srs_forward_port: { check: port, unused: SRS },
  srs_reverse_port: { check: port, unused: SRS },
  run_as_user: {
    check: text,
    unused: 'policyd does not switch users: start it as that user (systemd User=)',
  },
  pid_file: {
    check: text,
    unused: 'policyd stays in the foreground and writes no PID file (systemd tracks the process)',
  },
  log_level: { check: logLevel },
  backend: { check: backend },
  plugins: { check: plugins },
  srs_secrets: { check: textList(true), unused: SRS },
  srs_domain: { check: text },
  ldap_uri: { check: text, unused: LDAP },
  ldap_basedn: { check: text, unused: LDAP },
  ldap_binddn: { check: text, unused: LDAP },
  ldap_bindpw: { check: text, unused: LDAP },
  ldap_enable_tls: { check: flag, unused: LDAP },
  vmail_db_server: { check: text },
  vmail_db_port: { check: dbPort },
  vmail_db_name: { check: text },
  vmail_db_user: { check: text },
  vmail_db_password: { check: text },
  vmail_db_use_ssl: { check: flag },
  amavisd_db_server: { check: text },
  amavisd_db_port: { check: dbPort },
  amavisd_db_name: { check: text },
  amavisd_db_user: { check: text },
  amavisd_db_password: { check: text },
  amavisd_db_use_ssl: { check: flag },
  iredapd_db_server: { check: text },
  iredapd_db_port: { check: dbPort },
  iredapd_db_name: { check: text },
  iredapd_db_user: { check: text },
  iredapd_db_password: { check: text },
  iredapd_db_use_ssl: { check: flag },
  mlmmjadmin_api_endpoint: { check: text, unused: NOT_IMPLEMENTED('sql_ml_access_policy') },
  mlmmjadmin_api_auth_token: { check: text, unused: NOT_IMPLEMENTED('sql_ml_access_policy') },
  sqlite_db_path: { check: text },
  log_file: { check: text },
  domain_cache_seconds: { check: integer(0) },
  greylisting_passed_client_cache_seconds: { check: integer(0) },
  greylisting_spf_whitelist_cache_seconds: { check: integer(0) },
  greylisting_write_behind: { check: flag },
  SYSLOG_SERVER: { check: text, unused: SYSLOG },
  SYSLOG_PORT: { check: port, unused: SYSLOG },
  SYSLOG_FACILITY: { check: text, unused: SYSLOG },
  PLUGIN_PRIORITIES: { check: priorities },
  MYNETWORKS: { check: textList(false) },
  RECIPIENT_DELIMITERS: { check: textList(true) },
  SQL_CONNECTION_POOL_SIZE: { check: integer(0, 10_000) },
  SQL_CONNECTION_MAX_OVERFLOW: { check: integer(-1, 10_000) },
  SQL_CONNECTION_POOL_RECYCLE: { check: integer(-1) },
  SQL_DB_DRIVER: {
    check: text,
    unused: 'policyd always uses mysql2 for MySQL/MariaDB and pg for PostgreSQL',
  },
  DNS_QUERY_TIMEOUT: { check: seconds },
  LOG_SMTP_SESSIONS: { check: flag },
  LOG_SMTP_SESSIONS_EXPIRE_DAYS: { check: integer(0) },
  LOG_SMTP_SESSIONS_BYPASS_DUNNO: { check: flag },
  LOG_SMTP_SESSIONS_BYPASS_GREYLISTING: { check: flag },
  LOG_SMTP_SESSIONS_BYPASS_WHITELIST: { check: flag },
  TRACKING_EXPIRE_SECONDS: { check: integer(0), unused: 'iRedAPD stopped using it in 4.7' },
  SPF_MAX_DNS_QUERIES: { check: integer(1, 1000) },
  ENABLE_ALL_WILDCARD_IP: { check: flag },
  WBLIST_BYPASS_OUTGOING_EMAIL: { check: flag },
  WBLIST_DISCARD_INSTEAD_OF_REJECT: { check: flag },
  CHANGE_PASSWORD_DAYS: { check: integer(0), unused: NOT_IMPLEMENTED('force-change-password') },
  CHANGE_PASSWORD_MESSAGE: { check: text, unused: NOT_IMPLEMENTED('force-change-password') },
  CHANGE_PASSWORD_NEVER_EXPIRE_USERS: {
    check: textList(false),
    unused: NOT_IMPLEMENTED('force-change-password'),
  },
  CHECK_FORGED_SENDER: { check: flag, unused: NOT_IMPLEMENTED('reject_sender_login_mismatch') },
  ALLOWED_FORGED_SENDERS: { check: textList(false), unused: NOT_IMPLEMENTED('reject_sender_login_mismatch') },
  CHECK_SPF_IF_LOGIN_MISMATCH: { check: flag, unused: NOT_IMPLEMENTED('reject_sender_login_mismatch') },
  ALLOWED_LOGIN_MISMATCH_SENDERS: {
    check: textList(false),
    unused: NOT_IMPLEMENTED('reject_sender_login_mismatch'),
  },
  ALLOWED_LOGIN_MISMATCH_STRICTLY: { check: flag, unused: NOT_IMPLEMENTED('reject_sender_login_mismatch') },
  ALLOWED_LOGIN_MISMATCH_LIST_MEMBER: {
    check: flag,
    unused: NOT_IMPLEMENTED('reject_sender_login_mismatch'),
  },
  GREYLISTING_MESSAGE: { check: text },
  GREYLISTING_TRAINING_MODE: { check: flag },
  GREYLISTING_BLOCK_EXPIRE: { check: integer(0) },
  GREYLISTING_AUTH_TRIPLET_EXPIRE: { check: integer(0) },
  GREYLISTING_UNAUTH_TRIPLET_EXPIRE: { check: integer(0) },
  GREYLISTING_BYPASS_SPF: { check: flag },
  WL_RCPT_FOR_GREYLISTING: { check: flag, unused: NOT_IMPLEMENTED('whitelist_outbound_recipient') },
  WL_RCPT_WITHOUT_SPF: { check: flag, unused: NOT_IMPLEMENTED('whitelist_outbound_recipient') },
  WL_RCPT_LOCAL_ACCOUNT: { check: text, unused: NOT_IMPLEMENTED('whitelist_outbound_recipient') },
  WL_RCPT_RCPT: { check: text, unused: NOT_IMPLEMENTED('whitelist_outbound_recipient') },
  WL_RCPT_WHITELIST_DOMAIN_FOR_GREYLISTING: {
    check: flag,
    unused: NOT_IMPLEMENTED('whitelist_outbound_recipient'),
  },
  THROTTLE_BYPASS_MYNETWORKS: { check: flag },
  THROTTLE_BYPASS_LOCAL_RECIPIENT: { check: flag },
  THROTTLE_BYPASS_SAME_DOMAIN: { check: flag },
  SENDERSCORE_REJECT_SCORE: { check: integer(0, 100), unused: NOT_IMPLEMENTED('senderscore') },
  SENDERSCORE_CACHE_DAYS: { check: integer(0) },
  MLMMJADMIN_API_AUTH_TOKEN_HEADER_NAME: { check: text, unused: NOT_IMPLEMENTED('sql_ml_access_policy') },
  CMD_SENDMAIL: { check: text },
  NOTIFICATION_RECIPIENTS: { check: textList(true) },
  NOTIFICATION_SMTP_SERVER: { check: text },
  NOTIFICATION_SMTP_PORT: { check: port },
  NOTIFICATION_SMTP_STARTTLS: { check: flag },
  NOTIFICATION_SMTP_USER: { check: text },
  NOTIFICATION_SMTP_PASSWORD: { check: text },
  NOTIFICATION_SMTP_DEBUG_LEVEL: { check: integer(0) },
  NOTIFICATION_SENDER_NAME: { check: text },
  CLEANUP_QUERY_SIZE_LIMIT: { check: integer(1, 1_000_000) },
});
