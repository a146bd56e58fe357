/**
 * iRedAPD's and iRedMail's tables written out as plain DDL per dialect (our own text, following the schema
 * reference: iRedAPD `SQL/iredapd.{mysql,pgsql}`, iRedMail's amavisd and vmail schema). Tests use it two ways:
 * as the expected shape of the tables our migrations create, and to build an "existing iRedMail database"
 * that `migrate()` must leave alone. SQLite has no iRedMail schema: its text is the MySQL one with SQLite
 * types, as the migrations intend.
 *
 * Deliberately written in iRedAPD's style (unnamed MySQL keys, inline `UNIQUE`, MySQL `INDEX (…)`), not in
 * the form the migrations generate, so that a comparison checks meaning rather than spelling.
 */

import type { Dialect } from '../src/dialect.ts';
import type { LogicalDatabase } from '../src/migrations.ts';

/** Options of {@link iredmailDdl}. */
export interface IredmailDdlOptions {
  /**
   * Include the columns iRedAPD's upgrade scripts added (`throttle.max_rcpts`, `throttle_tracking.
   * last_notify_time`); false gives an older installation's tables. Default true.
   */
  readonly upgradeColumns?: boolean;
}

const SMTP_SESSION_COLUMNS = [
  'time',
  'time_num',
  'action',
  'reason',
  'instance',
  'client_address',
  'client_name',
  'reverse_client_name',
  'helo_name',
  'sender',
  'sender_domain',
  'sasl_username',
  'sasl_domain',
  'recipient',
  'recipient_domain',
  'encryption_protocol',
  'encryption_cipher',
  'server_address',
  'server_port',
];

function mysqlIredapd(upgrade: boolean): string[] {
  return [
    `CREATE TABLE throttle (
      id BIGINT(20) UNSIGNED AUTO_INCREMENT,
      account VARCHAR(255) NOT NULL,
      kind VARCHAR(10) NOT NULL DEFAULT 'outbound',
      priority TINYINT(1) UNSIGNED NOT NULL DEFAULT 0,
      period INT(10) UNSIGNED NOT NULL DEFAULT 0,
      msg_size BIGINT(20) NOT NULL DEFAULT -1,
      max_msgs BIGINT(20) NOT NULL DEFAULT -1,
      max_quota BIGINT(20) NOT NULL DEFAULT -1,
      ${upgrade ? 'max_rcpts BIGINT(20) NOT NULL DEFAULT -1,' : ''}
      PRIMARY KEY (id),
      UNIQUE INDEX account_kind (account, kind)
    ) ENGINE=InnoDB`,
    `CREATE TABLE throttle_tracking (
      id BIGINT(20) UNSIGNED AUTO_INCREMENT,
      tid BIGINT(20) UNSIGNED NOT NULL DEFAULT 0,
      account VARCHAR(255) NOT NULL DEFAULT '',
      period INT(10) UNSIGNED NOT NULL DEFAULT 0,
      cur_msgs MEDIUMINT(8) UNSIGNED NOT NULL DEFAULT 0,
      cur_quota INT(10) UNSIGNED NOT NULL DEFAULT 0,
      init_time INT(10) UNSIGNED NOT NULL DEFAULT 0,
      last_time INT(10) UNSIGNED NOT NULL DEFAULT 0,
      ${upgrade ? 'last_notify_time INT(10) UNSIGNED NOT NULL DEFAULT 0,' : ''}
      PRIMARY KEY (id),
      FOREIGN KEY (tid) REFERENCES throttle (id),
      UNIQUE INDEX tid_account (tid, account)
    ) ENGINE=InnoDB`,
    `CREATE TABLE greylisting (
      id BIGINT(20) UNSIGNED AUTO_INCREMENT,
      account VARCHAR(100) NOT NULL DEFAULT '',
      priority TINYINT(2) NOT NULL DEFAULT 0,
      sender VARCHAR(100) NOT NULL DEFAULT '',
      sender_priority TINYINT(2) NOT NULL DEFAULT 0,
      comment VARCHAR(255) NOT NULL DEFAULT '',
      active TINYINT(1) NOT NULL DEFAULT 1,
      PRIMARY KEY (id),
      UNIQUE INDEX (account, sender),
      INDEX (comment)
    ) ENGINE=InnoDB`,
    ...['greylisting_whitelists', 'greylisting_whitelist_domain_spf'].map(
      (table) => `CREATE TABLE ${table} (
        id BIGINT(20) UNSIGNED AUTO_INCREMENT,
        account VARCHAR(100) NOT NULL DEFAULT '',
        sender VARCHAR(100) NOT NULL DEFAULT '',
        comment VARCHAR(255) NOT NULL DEFAULT '',
        PRIMARY KEY (id),
        UNIQUE INDEX (account, sender),
        INDEX (comment)
      ) ENGINE=InnoDB`,
    ),
    `CREATE TABLE greylisting_whitelist_domains (
      id BIGINT(20) UNSIGNED AUTO_INCREMENT,
      domain VARCHAR(255) NOT NULL DEFAULT '',
      PRIMARY KEY (id),
      UNIQUE INDEX (domain)
    ) ENGINE=InnoDB`,
    `CREATE TABLE greylisting_tracking (
      id BIGINT(20) UNSIGNED NOT NULL AUTO_INCREMENT,
      sender VARCHAR(255) NOT NULL,
      recipient VARCHAR(255) NOT NULL,
      client_address VARCHAR(40) NOT NULL,
      sender_domain VARCHAR(255) NOT NULL DEFAULT '',
      rcpt_domain VARCHAR(255) NOT NULL DEFAULT '',
      init_time INT(10) UNSIGNED NOT NULL DEFAULT 0,
      block_expired INT(10) UNSIGNED NOT NULL DEFAULT 0,
      record_expired INT(10) UNSIGNED NOT NULL DEFAULT 0,
      blocked_count BIGINT(20) NOT NULL DEFAULT 0,
      passed TINYINT(1) NOT NULL DEFAULT 0,
      PRIMARY KEY (id),
      UNIQUE INDEX (sender, recipient, client_address),
      INDEX (sender_domain),
      INDEX (rcpt_domain),
      INDEX client_address_passed (client_address, passed)
    ) ENGINE=InnoDB`,
    `CREATE TABLE wblist_rdns (
      id BIGINT(20) UNSIGNED AUTO_INCREMENT,
      rdns VARCHAR(255) NOT NULL DEFAULT '',
      wb VARCHAR(10) NOT NULL DEFAULT 'B',
      PRIMARY KEY (id),
      UNIQUE INDEX (rdns),
      INDEX (wb)
    ) ENGINE=InnoDB`,
    `CREATE TABLE srs_exclude_domains (
      id BIGINT(20) UNSIGNED AUTO_INCREMENT,
      domain VARCHAR(255) NOT NULL DEFAULT '',
      PRIMARY KEY (id),
      UNIQUE INDEX (domain)
    ) ENGINE=InnoDB`,
    `CREATE TABLE senderscore_cache (
      client_address VARCHAR(40) NOT NULL DEFAULT '',
      score INT(3) UNSIGNED DEFAULT 0,
      time INT(10) UNSIGNED NOT NULL DEFAULT 0,
      PRIMARY KEY (client_address),
      INDEX (score),
      INDEX (time)
    ) ENGINE=InnoDB`,
    `CREATE TABLE smtp_sessions (
      id BIGINT(20) UNSIGNED AUTO_INCREMENT,
      time TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
      time_num INT(10) UNSIGNED NOT NULL DEFAULT 0,
      action VARCHAR(20) NOT NULL DEFAULT '',
      reason VARCHAR(150) NOT NULL DEFAULT '',
      instance VARCHAR(40) NOT NULL DEFAULT '',
      client_address VARCHAR(40) NOT NULL DEFAULT '',
      client_name VARCHAR(255) NOT NULL DEFAULT '',
      reverse_client_name VARCHAR(255) NOT NULL DEFAULT '',
      helo_name VARCHAR(255) NOT NULL DEFAULT '',
      sender VARCHAR(255) NOT NULL DEFAULT '',
      sender_domain VARCHAR(255) NOT NULL DEFAULT '',
      sasl_username VARCHAR(255) NOT NULL DEFAULT '',
      sasl_domain VARCHAR(255) NOT NULL DEFAULT '',
      recipient VARCHAR(255) NOT NULL DEFAULT '',
      recipient_domain VARCHAR(255) NOT NULL DEFAULT '',
      encryption_protocol VARCHAR(20) NOT NULL DEFAULT '',
      encryption_cipher VARCHAR(50) NOT NULL DEFAULT '',
      server_address VARCHAR(40) NOT NULL DEFAULT '',
      server_port VARCHAR(10) NOT NULL DEFAULT '',
      PRIMARY KEY (id),
      ${SMTP_SESSION_COLUMNS.map((column) => `INDEX (${column})`).join(',\n      ')}
    ) ENGINE=InnoDB`,
  ];
}

function pgIredapd(upgrade: boolean): string[] {
  const asc = (table: string) => [
    `CREATE TABLE ${table} (
      id SERIAL PRIMARY KEY,
      account VARCHAR(255) NOT NULL DEFAULT '',
      sender VARCHAR(255) NOT NULL DEFAULT '',
      comment VARCHAR(255) NOT NULL DEFAULT ''
    )`,
    `CREATE UNIQUE INDEX idx_${table}_account_sender ON ${table} (account, sender)`,
    `CREATE INDEX idx_${table}_comment ON ${table} (comment)`,
  ];
  return [
    `CREATE TABLE throttle (
      id SERIAL PRIMARY KEY,
      account VARCHAR(255) NOT NULL,
      kind VARCHAR(10) NOT NULL DEFAULT 'outbound',
      priority BIGINT NOT NULL DEFAULT 0,
      period BIGINT NOT NULL DEFAULT 0,
      msg_size BIGINT NOT NULL DEFAULT -1,
      max_msgs BIGINT NOT NULL DEFAULT -1,
      ${upgrade ? 'max_rcpts BIGINT NOT NULL DEFAULT -1,' : ''}
      max_quota BIGINT NOT NULL DEFAULT -1
    )`,
    'CREATE INDEX idx_account ON throttle (account)',
    `CREATE TABLE throttle_tracking (
      id SERIAL PRIMARY KEY,
      tid BIGINT REFERENCES throttle(id),
      account VARCHAR(255) NOT NULL DEFAULT '',
      period BIGINT NOT NULL DEFAULT 0,
      cur_msgs BIGINT NOT NULL DEFAULT 0,
      cur_quota BIGINT NOT NULL DEFAULT 0,
      init_time BIGINT NOT NULL DEFAULT 0,
      ${upgrade ? 'last_notify_time BIGINT NOT NULL DEFAULT 0,' : ''}
      last_time BIGINT NOT NULL DEFAULT 0
    )`,
    'CREATE INDEX idx_tid_account ON throttle_tracking (tid, account)',
    `CREATE TABLE greylisting (
      id SERIAL PRIMARY KEY,
      account VARCHAR(255) NOT NULL DEFAULT '',
      priority SMALLINT NOT NULL DEFAULT 0,
      sender VARCHAR(255) NOT NULL DEFAULT '',
      sender_priority SMALLINT NOT NULL DEFAULT 0,
      comment VARCHAR(255) NOT NULL DEFAULT '',
      active SMALLINT NOT NULL DEFAULT 1
    )`,
    'CREATE UNIQUE INDEX idx_greylisting_account_sender ON greylisting (account, sender)',
    'CREATE INDEX idx_greylisting_comment ON greylisting (comment)',
    ...asc('greylisting_whitelists'),
    `CREATE TABLE greylisting_whitelist_domains (id SERIAL PRIMARY KEY, domain VARCHAR(255) NOT NULL DEFAULT '')`,
    'CREATE UNIQUE INDEX idx_greylisting_whitelist_domains_domain ON greylisting_whitelist_domains (domain)',
    ...asc('greylisting_whitelist_domain_spf'),
    `CREATE TABLE greylisting_tracking (
      id SERIAL PRIMARY KEY,
      sender VARCHAR(255) NOT NULL,
      recipient VARCHAR(255) NOT NULL,
      client_address VARCHAR(40) NOT NULL,
      sender_domain VARCHAR(255) NOT NULL DEFAULT '',
      rcpt_domain VARCHAR(255) NOT NULL DEFAULT '',
      init_time BIGINT NOT NULL DEFAULT 0,
      block_expired BIGINT NOT NULL DEFAULT 0,
      record_expired BIGINT NOT NULL DEFAULT 0,
      blocked_count BIGINT NOT NULL DEFAULT 0,
      passed SMALLINT NOT NULL DEFAULT 0
    )`,
    'CREATE UNIQUE INDEX idx_greylisting_tracking_key ON greylisting_tracking (sender, recipient, client_address)',
    'CREATE INDEX idx_greylisting_tracking_sender_domain ON greylisting_tracking (sender_domain)',
    'CREATE INDEX idx_greylisting_tracking_rcpt_domain ON greylisting_tracking (rcpt_domain)',
    'CREATE INDEX idx_greylisting_tracking_client_address_passed ON greylisting_tracking (client_address, passed)',
    `CREATE TABLE wblist_rdns (id SERIAL PRIMARY KEY, rdns VARCHAR(255) NOT NULL DEFAULT '', wb VARCHAR(10) NOT NULL DEFAULT 'B')`,
    'CREATE UNIQUE INDEX idx_wblist_rdns_rdns ON wblist_rdns (rdns)',
    'CREATE INDEX idx_wblist_rdns_wb ON wblist_rdns (wb)',
    `CREATE TABLE srs_exclude_domains (id SERIAL PRIMARY KEY, domain VARCHAR(255) NOT NULL DEFAULT '')`,
    'CREATE UNIQUE INDEX idx_srs_exclude_domains_domain ON srs_exclude_domains (domain)',
    `CREATE TABLE senderscore_cache (
      client_address VARCHAR(40) NOT NULL DEFAULT '',
      score INT DEFAULT 0,
      time BIGINT NOT NULL DEFAULT 0,
      PRIMARY KEY (client_address)
    )`,
    'CREATE INDEX idx_senderscore_cache_score ON senderscore_cache (score)',
    'CREATE INDEX idx_senderscore_cache_time ON senderscore_cache (time)',
    `CREATE TABLE smtp_sessions (
      id SERIAL PRIMARY KEY,
      time TIMESTAMP WITHOUT TIME ZONE NOT NULL DEFAULT CURRENT_TIMESTAMP,
      time_num BIGINT NOT NULL DEFAULT 0,
      action VARCHAR(20) NOT NULL DEFAULT '',
      reason VARCHAR(255) NOT NULL DEFAULT '',
      instance VARCHAR(40) NOT NULL DEFAULT '',
      client_address VARCHAR(40) NOT NULL DEFAULT '',
      client_name VARCHAR(255) NOT NULL DEFAULT '',
      reverse_client_name VARCHAR(255) NOT NULL DEFAULT '',
      helo_name VARCHAR(255) NOT NULL DEFAULT '',
      sender VARCHAR(255) NOT NULL DEFAULT '',
      sender_domain VARCHAR(255) NOT NULL DEFAULT '',
      sasl_username VARCHAR(255) NOT NULL DEFAULT '',
      sasl_domain VARCHAR(255) NOT NULL DEFAULT '',
      recipient VARCHAR(255) NOT NULL DEFAULT '',
      recipient_domain VARCHAR(255) NOT NULL DEFAULT '',
      encryption_protocol VARCHAR(20) NOT NULL DEFAULT '',
      encryption_cipher VARCHAR(50) NOT NULL DEFAULT '',
      server_address VARCHAR(40) NOT NULL DEFAULT '',
      server_port VARCHAR(10) NOT NULL DEFAULT ''
    )`,
    ...SMTP_SESSION_COLUMNS.map(
      (column) => `CREATE INDEX idx_smtp_sessions_${column} ON smtp_sessions (${column})`,
    ),
  ];
}

/** SQLite: the MySQL text with SQLite's types (INTEGER, VARCHAR, BLOB) and separate index statements. */
function sqliteIredapd(upgrade: boolean): string[] {
  const asc = (table: string) => [
    `CREATE TABLE ${table} (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      account VARCHAR(255) NOT NULL DEFAULT '',
      sender VARCHAR(255) NOT NULL DEFAULT '',
      comment VARCHAR(255) NOT NULL DEFAULT ''
    )`,
    `CREATE UNIQUE INDEX ${table}_a ON ${table} (account, sender)`,
    `CREATE INDEX ${table}_c ON ${table} (comment)`,
  ];
  return [
    `CREATE TABLE throttle (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      account VARCHAR(255) NOT NULL,
      kind VARCHAR(10) NOT NULL DEFAULT 'outbound',
      priority INTEGER NOT NULL DEFAULT 0,
      period INTEGER NOT NULL DEFAULT 0,
      msg_size INTEGER NOT NULL DEFAULT -1,
      max_msgs INTEGER NOT NULL DEFAULT -1,
      ${upgrade ? 'max_rcpts INTEGER NOT NULL DEFAULT -1,' : ''}
      max_quota INTEGER NOT NULL DEFAULT -1
    )`,
    'CREATE UNIQUE INDEX throttle_ak ON throttle (account, kind)',
    `CREATE TABLE throttle_tracking (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      tid INTEGER NOT NULL DEFAULT 0 REFERENCES throttle (id),
      account VARCHAR(255) NOT NULL DEFAULT '',
      period INTEGER NOT NULL DEFAULT 0,
      cur_msgs INTEGER NOT NULL DEFAULT 0,
      cur_quota INTEGER NOT NULL DEFAULT 0,
      init_time INTEGER NOT NULL DEFAULT 0,
      ${upgrade ? 'last_notify_time INTEGER NOT NULL DEFAULT 0,' : ''}
      last_time INTEGER NOT NULL DEFAULT 0
    )`,
    'CREATE UNIQUE INDEX throttle_tracking_ta ON throttle_tracking (tid, account)',
    `CREATE TABLE greylisting (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      account VARCHAR(255) NOT NULL DEFAULT '',
      priority INTEGER NOT NULL DEFAULT 0,
      sender VARCHAR(255) NOT NULL DEFAULT '',
      sender_priority INTEGER NOT NULL DEFAULT 0,
      comment VARCHAR(255) NOT NULL DEFAULT '',
      active INTEGER NOT NULL DEFAULT 1
    )`,
    'CREATE UNIQUE INDEX greylisting_as ON greylisting (account, sender)',
    'CREATE INDEX greylisting_c ON greylisting (comment)',
    ...asc('greylisting_whitelists'),
    `CREATE TABLE greylisting_whitelist_domains (id INTEGER PRIMARY KEY AUTOINCREMENT, domain VARCHAR(255) NOT NULL DEFAULT '')`,
    'CREATE UNIQUE INDEX gwd_d ON greylisting_whitelist_domains (domain)',
    ...asc('greylisting_whitelist_domain_spf'),
    `CREATE TABLE greylisting_tracking (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      sender VARCHAR(255) NOT NULL,
      recipient VARCHAR(255) NOT NULL,
      client_address VARCHAR(40) NOT NULL,
      sender_domain VARCHAR(255) NOT NULL DEFAULT '',
      rcpt_domain VARCHAR(255) NOT NULL DEFAULT '',
      init_time INTEGER NOT NULL DEFAULT 0,
      block_expired INTEGER NOT NULL DEFAULT 0,
      record_expired INTEGER NOT NULL DEFAULT 0,
      blocked_count INTEGER NOT NULL DEFAULT 0,
      passed INTEGER NOT NULL DEFAULT 0
    )`,
    'CREATE UNIQUE INDEX gt_key ON greylisting_tracking (sender, recipient, client_address)',
    'CREATE INDEX gt_sd ON greylisting_tracking (sender_domain)',
    'CREATE INDEX gt_rd ON greylisting_tracking (rcpt_domain)',
    'CREATE INDEX gt_cap ON greylisting_tracking (client_address, passed)',
    `CREATE TABLE wblist_rdns (id INTEGER PRIMARY KEY AUTOINCREMENT, rdns VARCHAR(255) NOT NULL DEFAULT '', wb VARCHAR(10) NOT NULL DEFAULT 'B')`,
    'CREATE UNIQUE INDEX wr_r ON wblist_rdns (rdns)',
    'CREATE INDEX wr_wb ON wblist_rdns (wb)',
    `CREATE TABLE srs_exclude_domains (id INTEGER PRIMARY KEY AUTOINCREMENT, domain VARCHAR(255) NOT NULL DEFAULT '')`,
    'CREATE UNIQUE INDEX sed_d ON srs_exclude_domains (domain)',
    `CREATE TABLE senderscore_cache (
      client_address VARCHAR(40) NOT NULL DEFAULT '',
      score INTEGER DEFAULT 0,
      time INTEGER NOT NULL DEFAULT 0,
      PRIMARY KEY (client_address)
    )`,
    'CREATE INDEX sc_s ON senderscore_cache (score)',
    'CREATE INDEX sc_t ON senderscore_cache (time)',
    `CREATE TABLE smtp_sessions (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      time DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
      time_num INTEGER NOT NULL DEFAULT 0,
      action VARCHAR(20) NOT NULL DEFAULT '',
      reason VARCHAR(255) NOT NULL DEFAULT '',
      instance VARCHAR(40) NOT NULL DEFAULT '',
      client_address VARCHAR(40) NOT NULL DEFAULT '',
      client_name VARCHAR(255) NOT NULL DEFAULT '',
      reverse_client_name VARCHAR(255) NOT NULL DEFAULT '',
      helo_name VARCHAR(255) NOT NULL DEFAULT '',
      sender VARCHAR(255) NOT NULL DEFAULT '',
      sender_domain VARCHAR(255) NOT NULL DEFAULT '',
      sasl_username VARCHAR(255) NOT NULL DEFAULT '',
      sasl_domain VARCHAR(255) NOT NULL DEFAULT '',
      recipient VARCHAR(255) NOT NULL DEFAULT '',
      recipient_domain VARCHAR(255) NOT NULL DEFAULT '',
      encryption_protocol VARCHAR(20) NOT NULL DEFAULT '',
      encryption_cipher VARCHAR(50) NOT NULL DEFAULT '',
      server_address VARCHAR(40) NOT NULL DEFAULT '',
      server_port VARCHAR(10) NOT NULL DEFAULT ''
    )`,
    ...SMTP_SESSION_COLUMNS.map((column) => `CREATE INDEX ss_${column} ON smtp_sessions (${column})`),
  ];
}

function amavisd(dialect: Dialect): string[] {
  if (dialect === 'mysql') {
    return [
      `CREATE TABLE users (
        id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
        priority INTEGER NOT NULL DEFAULT '7',
        policy_id INTEGER UNSIGNED NOT NULL DEFAULT '1',
        email VARBINARY(255) NOT NULL UNIQUE,
        fullname VARCHAR(255) DEFAULT NULL
      ) ENGINE=InnoDB`,
      `CREATE TABLE mailaddr (
        id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
        priority INTEGER NOT NULL DEFAULT '7',
        email VARBINARY(255) NOT NULL UNIQUE
      ) ENGINE=InnoDB`,
      ...['wblist', 'outbound_wblist'].map(
        (table) => `CREATE TABLE ${table} (
          rid INTEGER UNSIGNED NOT NULL,
          sid INTEGER UNSIGNED NOT NULL,
          wb VARCHAR(10) NOT NULL,
          PRIMARY KEY (rid, sid)
        ) ENGINE=InnoDB`,
      ),
    ];
  }
  if (dialect === 'pg') {
    return [
      `CREATE TABLE users (
        id SERIAL PRIMARY KEY,
        priority INTEGER NOT NULL DEFAULT '7',
        policy_id INTEGER NOT NULL DEFAULT '1' CHECK (policy_id >= 0),
        email BYTEA NOT NULL UNIQUE,
        fullname VARCHAR(255) DEFAULT NULL
      )`,
      `CREATE TABLE mailaddr (id SERIAL PRIMARY KEY, priority INTEGER NOT NULL DEFAULT '7', email BYTEA NOT NULL UNIQUE)`,
      ...['wblist', 'outbound_wblist'].map(
        (table) => `CREATE TABLE ${table} (
          rid INTEGER NOT NULL CHECK (rid >= 0),
          sid INTEGER NOT NULL CHECK (sid >= 0),
          wb VARCHAR(10) NOT NULL,
          PRIMARY KEY (rid, sid)
        )`,
      ),
    ];
  }
  return [
    `CREATE TABLE users (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      priority INTEGER NOT NULL DEFAULT 7,
      policy_id INTEGER NOT NULL DEFAULT 1,
      email BLOB NOT NULL,
      fullname VARCHAR(255) DEFAULT NULL
    )`,
    'CREATE UNIQUE INDEX u_email ON users (email)',
    `CREATE TABLE mailaddr (id INTEGER PRIMARY KEY AUTOINCREMENT, priority INTEGER NOT NULL DEFAULT 7, email BLOB NOT NULL)`,
    'CREATE UNIQUE INDEX m_email ON mailaddr (email)',
    ...['wblist', 'outbound_wblist'].map(
      (table) =>
        `CREATE TABLE ${table} (rid INTEGER NOT NULL, sid INTEGER NOT NULL, wb VARCHAR(10) NOT NULL, PRIMARY KEY (rid, sid))`,
    ),
  ];
}

/** iRedMail's full `domain` and `alias_domain` (more columns than the stores read). */
function vmail(dialect: Dialect): string[] {
  if (dialect === 'mysql') {
    return [
      `CREATE TABLE domain (
        domain VARCHAR(255) NOT NULL DEFAULT '',
        description TEXT,
        disclaimer TEXT,
        aliases INT(10) NOT NULL DEFAULT 0,
        mailboxes INT(10) NOT NULL DEFAULT 0,
        maillists INT(10) NOT NULL DEFAULT 0,
        maxquota BIGINT(20) NOT NULL DEFAULT 0,
        quota BIGINT(20) NOT NULL DEFAULT 0,
        transport VARCHAR(255) NOT NULL DEFAULT 'dovecot',
        backupmx TINYINT(1) NOT NULL DEFAULT 0,
        settings TEXT,
        created DATETIME NOT NULL DEFAULT '1970-01-01 01:01:01',
        modified DATETIME NOT NULL DEFAULT '1970-01-01 01:01:01',
        expired DATETIME NOT NULL DEFAULT '9999-12-31 00:00:00',
        active TINYINT(1) NOT NULL DEFAULT 1,
        PRIMARY KEY (domain),
        INDEX (backupmx),
        INDEX (expired),
        INDEX (active)
      ) ENGINE=InnoDB`,
      `CREATE TABLE alias_domain (
        alias_domain VARCHAR(255) NOT NULL,
        target_domain VARCHAR(255) NOT NULL,
        created DATETIME NOT NULL DEFAULT '1970-01-01 01:01:01',
        modified DATETIME NOT NULL DEFAULT '1970-01-01 01:01:01',
        active TINYINT(1) NOT NULL DEFAULT 1,
        PRIMARY KEY (alias_domain),
        INDEX (target_domain),
        INDEX (active)
      ) ENGINE=InnoDB`,
    ];
  }
  const int2 = dialect === 'pg' ? 'INT2' : 'INTEGER';
  const int8 = dialect === 'pg' ? 'INT8' : 'INTEGER';
  const ts = dialect === 'pg' ? 'TIMESTAMP WITHOUT TIME ZONE' : 'DATETIME';
  return [
    `CREATE TABLE domain (
      domain VARCHAR(255) NOT NULL DEFAULT '',
      description TEXT NOT NULL DEFAULT '',
      disclaimer TEXT NOT NULL DEFAULT '',
      aliases ${int8} NOT NULL DEFAULT 0,
      mailboxes ${int8} NOT NULL DEFAULT 0,
      maillists ${int8} NOT NULL DEFAULT 0,
      maxquota ${int8} NOT NULL DEFAULT 0,
      quota ${int8} NOT NULL DEFAULT 0,
      transport VARCHAR(255) NOT NULL DEFAULT 'dovecot',
      settings TEXT NOT NULL DEFAULT '',
      backupmx ${int2} NOT NULL DEFAULT 0,
      created ${ts} NOT NULL DEFAULT CURRENT_TIMESTAMP,
      modified ${ts} NOT NULL DEFAULT CURRENT_TIMESTAMP,
      expired ${ts} NOT NULL DEFAULT '9999-12-31 01:01:01',
      active ${int2} NOT NULL DEFAULT 1,
      PRIMARY KEY (domain)
    )`,
    'CREATE INDEX idx_domain_backupmx ON domain (backupmx)',
    'CREATE INDEX idx_domain_expired ON domain (expired)',
    'CREATE INDEX idx_domain_active ON domain (active)',
    `CREATE TABLE alias_domain (
      alias_domain VARCHAR(255) NOT NULL,
      target_domain VARCHAR(255) NOT NULL,
      created ${ts} NOT NULL DEFAULT CURRENT_TIMESTAMP,
      modified ${ts} NOT NULL DEFAULT CURRENT_TIMESTAMP,
      active ${int2} NOT NULL DEFAULT 1,
      PRIMARY KEY (alias_domain)
    )`,
    'CREATE INDEX idx_alias_domain_target_domain ON alias_domain (target_domain)',
    'CREATE INDEX idx_alias_domain_active ON alias_domain (active)',
  ];
}

/** The statements that create one logical database's tables as iRedAPD/iRedMail would. */
export function iredmailDdl(
  dialect: Dialect,
  database: LogicalDatabase,
  options: IredmailDdlOptions = {},
): string[] {
  const upgrade = options.upgradeColumns !== false;
  if (database === 'amavisd') return amavisd(dialect);
  if (database === 'vmail') return vmail(dialect);
  return dialect === 'mysql'
    ? mysqlIredapd(upgrade)
    : dialect === 'pg'
      ? pgIredapd(upgrade)
      : sqliteIredapd(upgrade);
}
