/**
 * What `knex.raw` returns differs per driver: pg gives `{ rows, rowCount }`, mysql2 `[rows | header, fields]`,
 * better-sqlite3 the rows of a statement that returns data and `{ changes }` otherwise. The stores that need
 * raw SQL (a PostgreSQL data-modifying `WITH`, MySQL's `LAST_INSERT_ID(expr)`, `RETURNING`) read results through
 * these helpers only.
 */

import type { Dialect } from './dialect.ts';
import { intOf } from './sql.ts';

/** A result row of a raw query: column name → driver value. */
export type RawRow = Readonly<Record<string, unknown>>;

function mysqlPart(result: unknown): unknown {
  return Array.isArray(result) ? result[0] : result;
}

/** The rows of a raw `SELECT` (or of a statement with `RETURNING`); `[]` when it returned none. */
export function rawRows(dialect: Dialect, result: unknown): RawRow[] {
  if (dialect === 'pg') return ((result as { rows?: RawRow[] } | null)?.rows ?? []) as RawRow[];
  const rows = dialect === 'mysql' ? mysqlPart(result) : result;
  return Array.isArray(rows) ? (rows as RawRow[]) : [];
}

/**
 * Rows a raw `INSERT`, `UPDATE` or `DELETE` affected. On MySQL this is the number of rows **matched** (mysql2
 * connects with `CLIENT_FOUND_ROWS`), so an `UPDATE` whose guard held counts 1 even if it changed no value; a
 * duplicate ignored by `INSERT IGNORE` counts 0.
 */
export function rawAffected(dialect: Dialect, result: unknown): number {
  if (dialect === 'pg') return intOf((result as { rowCount?: unknown } | null)?.rowCount);
  if (dialect === 'mysql')
    return intOf((mysqlPart(result) as { affectedRows?: unknown } | null)?.affectedRows);
  if (Array.isArray(result)) return result.length;
  return intOf((result as { changes?: unknown } | null)?.changes);
}

/**
 * MySQL only: the statement's insert id, which is also the value of the last `LAST_INSERT_ID(expr)` evaluated
 * by an `UPDATE`, so an increment can report the value it wrote without another query.
 */
export function rawInsertId(result: unknown): number {
  return intOf((mysqlPart(result) as { insertId?: unknown } | null)?.insertId);
}

/** MySQL only: the statement's info text (mysql2 `info`, mysql `message`); `''` when the server sent none. */
export function rawInfo(result: unknown): string {
  const header = mysqlPart(result) as { info?: unknown; message?: unknown } | null;
  const info = header?.info ?? header?.message;
  return typeof info === 'string' ? info : '';
}

/**
 * MySQL only: how many rows a multi-row `INSERT … ON DUPLICATE KEY UPDATE` inserted, from its info text
 * (`Records: 3  Duplicates: 1  Warnings: 0`): records − duplicates. Its affected rows cannot tell: mysql2
 * connects with `CLIENT_FOUND_ROWS`, so a duplicate the `UPDATE` leaves as it is counts 1, like an inserted row
 * (without that flag it would count 0).
 *
 * @returns undefined when the text has no counts (MySQL sends none for a single-row `INSERT`)
 */
export function mysqlInsertedRows(info: string): number | undefined {
  const counts = /Records:\s*(\d+)\s+Duplicates:\s*(\d+)/.exec(info);
  return counts === null ? undefined : Number(counts[1]) - Number(counts[2]);
}
