/**
 * "Insert these rows unless a unique key already holds them", counting what was inserted. Used where
 * iRedAPD's tools treat a duplicate key as success (whitelists, whitelist domains, generated networks).
 *
 * PostgreSQL and SQLite: `INSERT … ON CONFLICT DO NOTHING`, which skips only key conflicts. MySQL's only
 * equivalent, `INSERT IGNORE`, also turns a value too long for its column into a warning and stores it
 * truncated; so one row is inserted with a plain `INSERT` (a duplicate-key error means "already there"), and
 * several with `INSERT IGNORE` whose warnings are checked: a warning that is not a skipped duplicate fails the
 * call, and the caller's transaction rolls the rows back.
 */

import { PolicydError } from '@policyd/core';
import type { Knex } from 'knex';
import type { Dialect } from './dialect.ts';
import { rawAffected } from './raw-result.ts';
import { quoteIdentifier } from './schema/spec.ts';
import { chunks, intOf } from './sql.ts';
import type { StatementCache } from './statement-cache.ts';

/** Rows per statement: 3 columns × 300 rows stays far below every driver's limit on bound parameters. */
const ROWS_PER_INSERT = 300;

/** MySQL's duplicate-key error. */
const ER_DUP_ENTRY = 1062;

function isDuplicateKey(err: unknown): boolean {
  const { errno, code } = (err ?? {}) as { errno?: unknown; code?: unknown };
  return errno === ER_DUP_ENTRY || code === 'ER_DUP_ENTRY';
}

/** The one-row `INSERT` of {@link insertOneIgnoringDuplicate}, with `?` placeholders. */
function insertOneStatement(dialect: Dialect, table: string, columns: readonly string[]): string {
  const q = (name: string) => quoteIdentifier(dialect, name);
  const statement = `INSERT INTO ${q(table)} (${columns.map(q).join(', ')}) VALUES (${columns.map(() => '?').join(', ')})`;
  return dialect === 'mysql' ? statement : `${statement} ON CONFLICT DO NOTHING`;
}

/**
 * Insert one row unless a unique key already holds it, as {@link insertIgnoringDuplicates} does for one row,
 * through a {@link StatementCache} (the statement is prepared once): for statements on a request's path.
 *
 * @returns 1 when inserted, 0 when the key was taken
 */
export async function insertOneIgnoringDuplicate(
  statements: StatementCache,
  dialect: Dialect,
  table: string,
  columns: readonly string[],
  row: readonly (string | number)[],
): Promise<number> {
  try {
    return (await statements.execute(insertOneStatement(dialect, table, columns), row)).affected;
  } catch (err) {
    if (dialect === 'mysql' && isDuplicateKey(err)) return 0;
    throw err;
  }
}

/**
 * Insert `rows` (values in `columns` order) into `table`, skipping rows that collide with a unique key, in
 * statements of at most 300 rows. Run it inside a transaction (pass the transaction as `knex`) when inserting
 * several rows, so that a MySQL data warning rolls them back.
 *
 * @returns how many rows were inserted
 * @throws PolicydError `POLICYD_ERR_STORE` on MySQL when a value did not fit its column
 */
export async function insertIgnoringDuplicates(
  knex: Knex,
  dialect: Dialect,
  table: string,
  columns: readonly string[],
  rows: readonly (readonly (string | number)[])[],
): Promise<number> {
  const q = (name: string) => quoteIdentifier(dialect, name);
  const tuple = `(${columns.map(() => '?').join(', ')})`;
  const into = `INTO ${q(table)} (${columns.map(q).join(', ')}) VALUES`;
  if (dialect === 'mysql' && rows.length === 1) {
    try {
      return rawAffected(dialect, await knex.raw(`INSERT ${into} ${tuple}`, [...rows[0]!]));
    } catch (err) {
      if (isDuplicateKey(err)) return 0;
      throw err;
    }
  }
  let inserted = 0;
  for (const part of chunks(rows, ROWS_PER_INSERT)) {
    const values = part.map(() => tuple).join(', ');
    if (dialect !== 'mysql') {
      inserted += rawAffected(
        dialect,
        await knex.raw(`INSERT ${into} ${values} ON CONFLICT DO NOTHING`, part.flat()),
      );
      continue;
    }
    const result = await knex.raw(`INSERT IGNORE ${into} ${values}`, part.flat());
    const added = rawAffected(dialect, result);
    // Each skipped duplicate leaves one warning; anything beyond is a value that did not fit.
    const warnings = intOf((result as [{ warningStatus?: unknown }])[0]?.warningStatus);
    if (warnings > part.length - added) {
      throw new PolicydError('POLICYD_ERR_STORE', `insert into ${table}: a value does not fit its column`, {
        value: table,
      });
    }
    inserted += added;
  }
  return inserted;
}
