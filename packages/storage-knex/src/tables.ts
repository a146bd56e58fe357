/**
 * Every table and column name the SQL stores use, in one place. The names are iRedAPD's and iRedMail's, so
 * the stores work on an existing iRedMail installation unchanged. Queries refer to these constants only; the
 * migrations (`schema/*.ts`) create the same tables.
 */

/** A table name with its column names (`col.<property>` → SQL column name). */
export interface TableNames<C extends Record<string, string>> {
  /** The SQL table name. */
  readonly name: string;
  /** Its columns: property → SQL column name. */
  readonly col: Readonly<C>;
}

function table<const C extends Record<string, string>>(name: string, col: C): TableNames<C> {
  return Object.freeze({ name, col: Object.freeze(col) });
}

// ---- database `iredapd` -------------------------------------------------------------------------------------

/** `iredapd.greylisting`: greylisting on/off settings per recipient scope and sender scope. */
export const GREYLISTING = table('greylisting', {
  id: 'id',
  account: 'account',
  priority: 'priority',
  sender: 'sender',
  senderPriority: 'sender_priority',
  comment: 'comment',
  active: 'active',
});

/** `iredapd.greylisting_whitelists`: manual greylisting whitelists. */
export const GREYLISTING_WHITELISTS = table('greylisting_whitelists', {
  id: 'id',
  account: 'account',
  sender: 'sender',
  comment: 'comment',
});

/** `iredapd.greylisting_whitelist_domains`: domains whose SPF/MX hosts get whitelisted. */
export const GREYLISTING_WHITELIST_DOMAINS = table('greylisting_whitelist_domains', {
  id: 'id',
  domain: 'domain',
});

/** `iredapd.greylisting_whitelist_domain_spf`: generated whitelists (`AUTO-UPDATE: <domain>`). */
export const GREYLISTING_WHITELIST_DOMAIN_SPF = table('greylisting_whitelist_domain_spf', {
  id: 'id',
  account: 'account',
  sender: 'sender',
  comment: 'comment',
});

/** `iredapd.greylisting_tracking`: one row per (sender, recipient, client) triplet. */
export const GREYLISTING_TRACKING = table('greylisting_tracking', {
  id: 'id',
  sender: 'sender',
  recipient: 'recipient',
  clientAddress: 'client_address',
  senderDomain: 'sender_domain',
  rcptDomain: 'rcpt_domain',
  initTime: 'init_time',
  blockExpired: 'block_expired',
  recordExpired: 'record_expired',
  blockedCount: 'blocked_count',
  passed: 'passed',
});

/** `iredapd.throttle`: throttle settings. */
export const THROTTLE = table('throttle', {
  id: 'id',
  account: 'account',
  kind: 'kind',
  priority: 'priority',
  period: 'period',
  msgSize: 'msg_size',
  maxMsgs: 'max_msgs',
  maxQuota: 'max_quota',
  maxRcpts: 'max_rcpts',
});

/** `iredapd.throttle_tracking`: throttle counters. */
export const THROTTLE_TRACKING = table('throttle_tracking', {
  id: 'id',
  tid: 'tid',
  account: 'account',
  period: 'period',
  curMsgs: 'cur_msgs',
  curQuota: 'cur_quota',
  initTime: 'init_time',
  lastTime: 'last_time',
  lastNotifyTime: 'last_notify_time',
  // policyd's own (not iRedAPD's): the previous window's counts of a sliding-window counter, NULL otherwise.
  prevMsgs: 'prev_msgs',
  prevQuota: 'prev_quota',
});

/** `iredapd.wblist_rdns`: white/blacklisted reverse DNS names (plugin `wblist_rdns`). */
export const WBLIST_RDNS = table('wblist_rdns', { id: 'id', rdns: 'rdns', wb: 'wb' });

/** `iredapd.srs_exclude_domains`: domains the SRS listeners leave alone. */
export const SRS_EXCLUDE_DOMAINS = table('srs_exclude_domains', { id: 'id', domain: 'domain' });

/** `iredapd.senderscore_cache`: cached Sender Score answers (plugin `senderscore`). */
export const SENDERSCORE_CACHE = table('senderscore_cache', {
  clientAddress: 'client_address',
  score: 'score',
  time: 'time',
});

/** `iredapd.smtp_sessions`: the per-request SQL log. */
export const SMTP_SESSIONS = table('smtp_sessions', {
  id: 'id',
  time: 'time',
  timeNum: 'time_num',
  action: 'action',
  reason: 'reason',
  instance: 'instance',
  clientAddress: 'client_address',
  clientName: 'client_name',
  reverseClientName: 'reverse_client_name',
  heloName: 'helo_name',
  sender: 'sender',
  senderDomain: 'sender_domain',
  saslUsername: 'sasl_username',
  saslDomain: 'sasl_domain',
  recipient: 'recipient',
  recipientDomain: 'recipient_domain',
  encryptionProtocol: 'encryption_protocol',
  encryptionCipher: 'encryption_cipher',
  serverAddress: 'server_address',
  serverPort: 'server_port',
});

// ---- database `amavisd` -------------------------------------------------------------------------------------

/** `amavisd.users`: local accounts that own lists (`email` is binary). */
export const USERS = table('users', {
  id: 'id',
  priority: 'priority',
  policyId: 'policy_id',
  email: 'email',
  fullname: 'fullname',
});

/** `amavisd.mailaddr`: the other side of list entries (`email` is binary). */
export const MAILADDR = table('mailaddr', { id: 'id', priority: 'priority', email: 'email' });

/** `amavisd.wblist`: inbound lists; `rid` = `users.id` (recipient), `sid` = `mailaddr.id` (sender). */
export const WBLIST = table('wblist', { rid: 'rid', sid: 'sid', wb: 'wb' });

/** `amavisd.outbound_wblist`: outbound lists; `rid` = `mailaddr.id` (recipient), `sid` = `users.id` (sender). */
export const OUTBOUND_WBLIST = table('outbound_wblist', { rid: 'rid', sid: 'sid', wb: 'wb' });

// ---- database `vmail` ---------------------------------------------------------------------------------------

/** `vmail.domain`: hosted domains (only the columns the stores read, and what a fresh database gets). */
export const DOMAIN = table('domain', { domain: 'domain', backupmx: 'backupmx', active: 'active' });

/** `vmail.alias_domain`: alias domains and their targets. */
export const ALIAS_DOMAIN = table('alias_domain', {
  aliasDomain: 'alias_domain',
  targetDomain: 'target_domain',
  active: 'active',
});

// ---- policyd's own ------------------------------------------------------------------------------------------

/** The table where knex records which of policyd's migrations ran (one per database; knex adds `_lock`). */
export const MIGRATIONS_TABLE = 'policyd_migrations';
