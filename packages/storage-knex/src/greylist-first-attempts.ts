/**
 * `GreylistStore.recordFirstAttempts`: the rows of first attempts that were answered already (write-behind),
 * inserted in bulk. Every attempt is checked before any query (`firstAttemptState`); triplets with a value
 * longer than its column are set aside (`fitsTrackingTable`), as every store does; the others, once each (the
 * first of duplicates), become rows of multi-row `INSERT`s that skip keys already taken:
 * - PostgreSQL and SQLite: `INSERT … ON CONFLICT DO NOTHING`; its row count is what was inserted.
 * - MySQL/MariaDB: `INSERT … ON DUPLICATE KEY UPDATE id = id`, which leaves an existing row as it is and,
 *   unlike `INSERT IGNORE`, keeps strict mode's errors (a value too long fails instead of being stored
 *   truncated). Its affected rows count a skipped duplicate like an insert (mysql2 connects with
 *   `CLIENT_FOUND_ROWS`), so the count comes from the info text (`Records: N  Duplicates: D`). A single row
 *   is the plain `INSERT` of a first `recordAttempt` (the same prepared statement), a duplicate-key error
 *   meaning "already there": MySQL sends no counts for a one-row `INSERT`.
 *
 * Rows go in key order, so that two concurrent calls sharing triplets take their key locks in the same order
 * and cannot deadlock. One statement per {@link FIRST_ATTEMPT_ROWS_PER_INSERT} rows; several run in one
 * transaction.
 *
 * Statement shapes: write-behind batches vary with the load, from 1 to 500 rows. Only the one-row statement is
 * prepared (it is `recordAttempt`'s own); every larger chunk runs as a one-off statement through knex. A
 * prepared statement per row count would hold its parameters' metadata on every pooled connection (mysql2
 * keeps ten column definitions per row: about 1 MB per connection for the counts up to 16, 20 MB of daemon
 * memory with iRedAPD's pool), crowd out the request path's statements from mysql2's per-connection cache, and
 * take two round trips for each first prepare; a batch's parse is small next to the rows it writes, and it
 * happens off the request path.
 */

import {
  firstAttemptState,
  fitsTrackingTable,
  type GreylistFirstAttempt,
  type GreylistFirstAttemptsResult,
  type GreylistTriplet,
  toUnixSeconds,
} from '@policyd/core';
import type { Knex } from 'knex';
import type { Dialect } from './dialect.ts';
import { FIRST_ATTEMPT_COLUMNS, firstAttemptValues } from './greylist-attempt.ts';
import { insertOneIgnoringDuplicate } from './insert-ignore.ts';
import { mysqlInsertedRows, rawAffected, rawInfo } from './raw-result.ts';
import { quoteIdentifier } from './schema/spec.ts';
import { chunks, inTransaction, type SqlDatabase } from './sql.ts';
import type { StatementCache } from './statement-cache.ts';
import { GREYLISTING_TRACKING } from './tables.ts';
import { byText } from './text-order.ts';

const T = GREYLISTING_TRACKING.name;
const C = GREYLISTING_TRACKING.col;

/**
 * Rows per `INSERT`: 500 rows × 10 values = 5 000 bound values, far below SQLite's 32 766 and the 65 535 of
 * MySQL's and PostgreSQL's protocols; at most about 1.6 MB of text when every value fills its column, below
 * MySQL's smallest default `max_allowed_packet` (4 MB). A write-behind batch (at most 100 rows by default) is
 * one statement.
 */
export const FIRST_ATTEMPT_ROWS_PER_INSERT = 500;

type RowValues = readonly (string | number)[];

/** The multi-row `INSERT` that skips taken keys, with `?` placeholders. */
function insertStatement(dialect: Dialect, rows: number): string {
  const q = (name: string) => quoteIdentifier(dialect, name);
  const tuple = `(${FIRST_ATTEMPT_COLUMNS.map(() => '?').join(', ')})`;
  const insert = `INSERT INTO ${q(T)} (${FIRST_ATTEMPT_COLUMNS.map(q).join(', ')}) VALUES ${Array.from({ length: rows }, () => tuple).join(', ')}`;
  return dialect === 'mysql'
    ? `${insert} ON DUPLICATE KEY UPDATE ${q(C.id)} = ${q(C.id)}`
    : `${insert} ON CONFLICT DO NOTHING`;
}

/** Rows a statement of {@link insertStatement} inserted. */
function insertedRows(dialect: Dialect, affected: number, info: string): number {
  // A MySQL driver that sends no counts (not mysql2 or mysql) leaves the affected rows, an upper bound.
  return dialect === 'mysql' ? (mysqlInsertedRows(info) ?? affected) : affected;
}

/** Run one chunk as a one-off statement on `knex` (the pool, or a transaction). */
async function insertOnce(dialect: Dialect, knex: Knex, rows: readonly RowValues[]): Promise<number> {
  const result = await knex.raw(insertStatement(dialect, rows.length), rows.flat());
  return insertedRows(dialect, rawAffected(dialect, result), dialect === 'mysql' ? rawInfo(result) : '');
}

/** Run the only chunk of a call as one statement, prepared when it is a single row (see the module comment). */
async function insertChunk(
  db: SqlDatabase,
  statements: StatementCache,
  rows: readonly RowValues[],
): Promise<number> {
  if (rows.length === 1) {
    return insertOneIgnoringDuplicate(statements, db.dialect, T, FIRST_ATTEMPT_COLUMNS, rows[0]!);
  }
  return insertOnce(db.dialect, db.knex, rows);
}

/**
 * Record first attempts in bulk (see the module comment).
 *
 * @throws PolicydError `POLICYD_ERR_INVALID_OPTION` for a malformed triplet or times, before any query
 */
export async function recordGreylistFirstAttempts(
  db: SqlDatabase,
  statements: StatementCache,
  attempts: readonly GreylistFirstAttempt[],
): Promise<GreylistFirstAttemptsResult> {
  const states = attempts.map(({ triplet, times }) => firstAttemptState(triplet, times));
  const unstorable: GreylistTriplet[] = [];
  const rows = new Map<string, RowValues>();
  for (const [i, state] of states.entries()) {
    if (!fitsTrackingTable(state)) {
      unstorable.push(attempts[i]!.triplet);
      continue;
    }
    // The first attempt of a triplet given twice is the one stored, as recordAttempt would have it.
    const key = JSON.stringify([state.sender, state.recipient, state.clientKey]);
    if (rows.has(key)) continue;
    rows.set(
      key,
      firstAttemptValues(state, {
        now: toUnixSeconds(state.firstSeenAt, 'firstSeenAt'),
        blockExpires: toUnixSeconds(state.blockExpiresAt, 'blockExpiresAt'),
        unauthExpires: toUnixSeconds(state.recordExpiresAt, 'recordExpiresAt'),
      }),
    );
  }
  const ordered = [...rows].sort(([a], [b]) => byText(a, b)).map(([, values]) => values);
  const parts = chunks(ordered, FIRST_ATTEMPT_ROWS_PER_INSERT);
  if (parts.length === 0) return { inserted: 0, unstorable };
  if (parts.length === 1) return { inserted: await insertChunk(db, statements, parts[0]!), unstorable };
  // Several statements: one transaction, so that the call stores all of its rows or none.
  const inserted = await inTransaction(db, { table: T, column: C.id }, async (trx) => {
    let count = 0;
    for (const part of parts) count += await insertOnce(db.dialect, trx, part);
    return count;
  });
  return { inserted, unstorable };
}
