/**
 * Column types shared by the table specs: iRedAPD's MySQL type, its PostgreSQL counterpart, and SQLite's.
 */

import type { SqlType } from './spec.ts';

/** `INT(10) UNSIGNED` / `BIGINT` / `INTEGER`: unix times, periods, small counters. */
export const INT_UNSIGNED: SqlType = { mysql: 'INT(10) UNSIGNED', pg: 'BIGINT', sqlite: 'INTEGER' };

/** `BIGINT(20)` / `BIGINT` / `INTEGER`: limits and counts. */
export const BIGINT: SqlType = { mysql: 'BIGINT(20)', pg: 'BIGINT', sqlite: 'INTEGER' };

/** `BIGINT(20) UNSIGNED` / `BIGINT` / `INTEGER`: references to an `auto-id`. */
export const BIGINT_UNSIGNED: SqlType = { mysql: 'BIGINT(20) UNSIGNED', pg: 'BIGINT', sqlite: 'INTEGER' };

/** `TINYINT(1)` / `SMALLINT` / `INTEGER`: flags (`active`, `passed`). */
export const FLAG: SqlType = { mysql: 'TINYINT(1)', pg: 'SMALLINT', sqlite: 'INTEGER' };

/** `TINYINT(2)` / `SMALLINT` / `INTEGER`: greylisting priorities (signed, ≤ 127 on MySQL). */
export const SMALL_PRIORITY: SqlType = { mysql: 'TINYINT(2)', pg: 'SMALLINT', sqlite: 'INTEGER' };

/** `INTEGER` everywhere (amavisd's `priority`). */
export const INTEGER: SqlType = { mysql: 'INT(11)', pg: 'INTEGER', sqlite: 'INTEGER' };

/** `INT UNSIGNED` / `INTEGER` / `INTEGER`: amavisd's ids in list tables and `policy_id`. */
export const INT_ID: SqlType = { mysql: 'INT(10) UNSIGNED', pg: 'INTEGER', sqlite: 'INTEGER' };

/** `VARBINARY(255)` / `bytea` / `BLOB`: amavisd's binary `email` columns. */
export const BINARY_255: SqlType = { mysql: 'VARBINARY(255)', pg: 'BYTEA', sqlite: 'BLOB' };

/** `VARCHAR(n)` on every dialect. */
export function varchar(length: number): SqlType {
  return `VARCHAR(${length})`;
}

/** `VARCHAR(mysql)` on MySQL, `VARCHAR(pg)` elsewhere: iRedAPD's greylisting columns differ in length. */
export function varcharOf(mysql: number, pg: number): SqlType {
  return { mysql: `VARCHAR(${mysql})`, pg: `VARCHAR(${pg})`, sqlite: `VARCHAR(${pg})` };
}
