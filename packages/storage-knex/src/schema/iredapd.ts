/**
 * The `iredapd` database: iRedAPD's own tables (`SQL/iredapd.{mysql,pgsql}` plus the columns its upgrade
 * scripts added), as table specs.
 */

import {
  GREYLISTING,
  GREYLISTING_TRACKING,
  GREYLISTING_WHITELIST_DOMAIN_SPF,
  GREYLISTING_WHITELIST_DOMAINS,
  GREYLISTING_WHITELISTS,
  SENDERSCORE_CACHE,
  SMTP_SESSIONS,
  SRS_EXCLUDE_DOMAINS,
  THROTTLE,
  THROTTLE_TRACKING,
  WBLIST_RDNS,
} from '../tables.ts';
import type { ColumnSpec, TableSpec } from './spec.ts';
import { BIGINT, BIGINT_UNSIGNED, FLAG, INT_UNSIGNED, SMALL_PRIORITY, varchar, varcharOf } from './types.ts';

const text = (name: string, length: number): ColumnSpec => ({ name, type: varchar(length), default: '' });

function accountSenderComment(
  name: string,
  col: { id: string; account: string; sender: string; comment: string },
): TableSpec {
  return {
    name,
    columns: [
      { name: col.id, type: 'auto-id' },
      { name: col.account, type: varcharOf(100, 255), default: '' },
      { name: col.sender, type: varcharOf(100, 255), default: '' },
      text(col.comment, 255),
    ],
    indexes: [
      { name: `idx_${name}_account_sender`, columns: [col.account, col.sender], unique: true },
      { name: `idx_${name}_comment`, columns: [col.comment] },
    ],
  };
}

const G = GREYLISTING.col;
const GT = GREYLISTING_TRACKING.col;
const T = THROTTLE.col;
const TT = THROTTLE_TRACKING.col;
const S = SMTP_SESSIONS.col;

/** `throttle.max_rcpts`, added by iRedAPD 5.0 (`SQL/update/5.0-max_rcpts`). */
export const THROTTLE_MAX_RCPTS: ColumnSpec = { name: T.maxRcpts, type: BIGINT, default: -1 };

/** `throttle_tracking.last_notify_time`, added by iRedAPD 2.3 (`SQL/update/2.3-last_notify_time`). */
export const THROTTLE_TRACKING_LAST_NOTIFY_TIME: ColumnSpec = {
  name: TT.lastNotifyTime,
  type: INT_UNSIGNED,
  default: 0,
};

/** A column policyd adds to one of iRedAPD's tables. */
export interface ExtensionColumn {
  /** The iRedAPD table. */
  readonly table: string;
  /** The column; it must be nullable or have a default, so that adding it to a filled table works. */
  readonly column: ColumnSpec;
}

/**
 * Columns policyd adds to iRedAPD's tables for features iRedAPD does not have. They are part of a table
 * created by the migrations, and `migrate()` adds them to an existing table (one migration per column, named
 * `iredapd/extension-<table>.<column>`, so that a column added in a later release is added too). iRedAPD
 * ignores them. The schema test compares the tables with iRedAPD's DDL without them.
 */
export const IREDAPD_EXTENSION_COLUMNS: readonly ExtensionColumn[] = [
  // Sliding-window throttle counters keep the previous window's counts here (NULL: a fixed-window counter, as
  // every row iRedAPD writes).
  { table: THROTTLE_TRACKING.name, column: { name: TT.prevMsgs, type: BIGINT, nullable: true } },
  { table: THROTTLE_TRACKING.name, column: { name: TT.prevQuota, type: BIGINT, nullable: true } },
];

const withExtensions = (spec: TableSpec): TableSpec => ({
  ...spec,
  columns: [
    ...spec.columns,
    ...IREDAPD_EXTENSION_COLUMNS.filter((extension) => extension.table === spec.name).map((e) => e.column),
  ],
});

/** Every `iredapd` table, in creation order (a referenced table before the one that references it). */
export const IREDAPD_TABLES: readonly TableSpec[] = (
  [
    {
      name: THROTTLE.name,
      columns: [
        { name: T.id, type: 'auto-id' },
        { name: T.account, type: varchar(255) },
        { name: T.kind, type: varchar(10), default: 'outbound' },
        {
          name: T.priority,
          type: { mysql: 'TINYINT(1) UNSIGNED', pg: 'BIGINT', sqlite: 'INTEGER' },
          default: 0,
        },
        { name: T.period, type: INT_UNSIGNED, default: 0 },
        { name: T.msgSize, type: BIGINT, default: -1 },
        { name: T.maxMsgs, type: BIGINT, default: -1 },
        { name: T.maxQuota, type: BIGINT, default: -1 },
        THROTTLE_MAX_RCPTS,
      ],
      // iRedAPD: UNIQUE (account, kind) on MySQL, only a plain index on account on PostgreSQL. Kept as they are,
      // so that a fresh database behaves like an existing one; SQLite follows MySQL.
      indexes: [
        { name: 'account_kind', columns: [T.account, T.kind], unique: true, dialects: ['mysql', 'sqlite'] },
        { name: 'idx_account', columns: [T.account], dialects: ['pg'] },
      ],
    },
    {
      name: THROTTLE_TRACKING.name,
      columns: [
        { name: TT.id, type: 'auto-id' },
        {
          name: TT.tid,
          type: BIGINT_UNSIGNED,
          // iRedAPD: NOT NULL DEFAULT 0 on MySQL, nullable without default on PostgreSQL.
          default: 0,
          nullable: ['pg'],
          noDefaultOn: ['pg'],
          references: { table: THROTTLE.name, column: T.id },
        },
        { name: TT.account, type: varchar(255), default: '' },
        { name: TT.period, type: INT_UNSIGNED, default: 0 },
        {
          name: TT.curMsgs,
          type: { mysql: 'MEDIUMINT(8) UNSIGNED', pg: 'BIGINT', sqlite: 'INTEGER' },
          default: 0,
        },
        { name: TT.curQuota, type: INT_UNSIGNED, default: 0 },
        { name: TT.initTime, type: INT_UNSIGNED, default: 0 },
        { name: TT.lastTime, type: INT_UNSIGNED, default: 0 },
        THROTTLE_TRACKING_LAST_NOTIFY_TIME,
      ],
      indexes: [
        { name: 'tid_account', columns: [TT.tid, TT.account], unique: true, dialects: ['mysql', 'sqlite'] },
        { name: 'idx_tid_account', columns: [TT.tid, TT.account], dialects: ['pg'] },
      ],
    },
    {
      name: GREYLISTING.name,
      columns: [
        { name: G.id, type: 'auto-id' },
        { name: G.account, type: varcharOf(100, 255), default: '' },
        { name: G.priority, type: SMALL_PRIORITY, default: 0 },
        { name: G.sender, type: varcharOf(100, 255), default: '' },
        { name: G.senderPriority, type: SMALL_PRIORITY, default: 0 },
        text(G.comment, 255),
        { name: G.active, type: FLAG, default: 1 },
      ],
      indexes: [
        { name: 'idx_greylisting_account_sender', columns: [G.account, G.sender], unique: true },
        { name: 'idx_greylisting_comment', columns: [G.comment] },
      ],
    },
    accountSenderComment(GREYLISTING_WHITELISTS.name, GREYLISTING_WHITELISTS.col),
    {
      name: GREYLISTING_WHITELIST_DOMAINS.name,
      columns: [
        { name: GREYLISTING_WHITELIST_DOMAINS.col.id, type: 'auto-id' },
        text(GREYLISTING_WHITELIST_DOMAINS.col.domain, 255),
      ],
      indexes: [
        {
          name: 'idx_greylisting_whitelist_domains_domain',
          columns: [GREYLISTING_WHITELIST_DOMAINS.col.domain],
          unique: true,
        },
      ],
    },
    accountSenderComment(GREYLISTING_WHITELIST_DOMAIN_SPF.name, GREYLISTING_WHITELIST_DOMAIN_SPF.col),
    {
      name: GREYLISTING_TRACKING.name,
      columns: [
        { name: GT.id, type: 'auto-id' },
        { name: GT.sender, type: varchar(255) },
        { name: GT.recipient, type: varchar(255) },
        { name: GT.clientAddress, type: varchar(40) },
        text(GT.senderDomain, 255),
        text(GT.rcptDomain, 255),
        { name: GT.initTime, type: INT_UNSIGNED, default: 0 },
        { name: GT.blockExpired, type: INT_UNSIGNED, default: 0 },
        { name: GT.recordExpired, type: INT_UNSIGNED, default: 0 },
        { name: GT.blockedCount, type: BIGINT, default: 0 },
        { name: GT.passed, type: FLAG, default: 0 },
      ],
      indexes: [
        {
          name: 'idx_greylisting_tracking_key',
          columns: [GT.sender, GT.recipient, GT.clientAddress],
          unique: true,
        },
        { name: 'idx_greylisting_tracking_sender_domain', columns: [GT.senderDomain] },
        { name: 'idx_greylisting_tracking_rcpt_domain', columns: [GT.rcptDomain] },
        { name: 'idx_greylisting_tracking_client_address_passed', columns: [GT.clientAddress, GT.passed] },
      ],
    },
    {
      name: WBLIST_RDNS.name,
      columns: [
        { name: WBLIST_RDNS.col.id, type: 'auto-id' },
        text(WBLIST_RDNS.col.rdns, 255),
        { name: WBLIST_RDNS.col.wb, type: varchar(10), default: 'B' },
      ],
      indexes: [
        { name: 'idx_wblist_rdns_rdns', columns: [WBLIST_RDNS.col.rdns], unique: true },
        { name: 'idx_wblist_rdns_wb', columns: [WBLIST_RDNS.col.wb] },
      ],
    },
    {
      name: SRS_EXCLUDE_DOMAINS.name,
      columns: [
        { name: SRS_EXCLUDE_DOMAINS.col.id, type: 'auto-id' },
        text(SRS_EXCLUDE_DOMAINS.col.domain, 255),
      ],
      indexes: [
        { name: 'idx_srs_exclude_domains_domain', columns: [SRS_EXCLUDE_DOMAINS.col.domain], unique: true },
      ],
    },
    {
      name: SENDERSCORE_CACHE.name,
      columns: [
        { name: SENDERSCORE_CACHE.col.clientAddress, type: varchar(40), default: '' },
        {
          name: SENDERSCORE_CACHE.col.score,
          type: { mysql: 'INT(3) UNSIGNED', pg: 'INT', sqlite: 'INTEGER' },
          nullable: true,
          default: 0,
        },
        { name: SENDERSCORE_CACHE.col.time, type: INT_UNSIGNED, default: 0 },
      ],
      primaryKey: [SENDERSCORE_CACHE.col.clientAddress],
      indexes: [
        { name: 'idx_senderscore_cache_score', columns: [SENDERSCORE_CACHE.col.score] },
        { name: 'idx_senderscore_cache_time', columns: [SENDERSCORE_CACHE.col.time] },
      ],
    },
    {
      name: SMTP_SESSIONS.name,
      columns: [
        { name: S.id, type: 'auto-id' },
        {
          name: S.time,
          type: { mysql: 'TIMESTAMP', pg: 'TIMESTAMP WITHOUT TIME ZONE', sqlite: 'DATETIME' },
          default: { sql: 'CURRENT_TIMESTAMP' },
        },
        { name: S.timeNum, type: INT_UNSIGNED, default: 0 },
        text(S.action, 20),
        { name: S.reason, type: varcharOf(150, 255), default: '' },
        text(S.instance, 40),
        text(S.clientAddress, 40),
        text(S.clientName, 255),
        text(S.reverseClientName, 255),
        text(S.heloName, 255),
        text(S.sender, 255),
        text(S.senderDomain, 255),
        text(S.saslUsername, 255),
        text(S.saslDomain, 255),
        text(S.recipient, 255),
        text(S.recipientDomain, 255),
        text(S.encryptionProtocol, 20),
        text(S.encryptionCipher, 50),
        text(S.serverAddress, 40),
        text(S.serverPort, 10),
      ],
      // iRedAPD indexes every column but id, one index each.
      indexes: Object.values(S)
        .filter((column) => column !== S.id)
        .map((column) => ({ name: `idx_smtp_sessions_${column}`, columns: [column] })),
    },
  ] satisfies TableSpec[]
).map(withExtensions);
