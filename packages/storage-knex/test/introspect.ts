/**
 * Read a table's shape back from the database catalogue, in a form that compares across spellings: columns
 * (name, type as the database reports it, nullability, default) and indexes (unique or not, columns), without
 * index names (MySQL names unnamed keys after their first column).
 */

import type { Knex } from 'knex';
import type { Dialect } from '../src/dialect.ts';

/** One column as the catalogue reports it. */
export interface ColumnShape {
  readonly name: string;
  readonly type: string;
  readonly nullable: boolean;
  readonly default: string | null;
}

/** A table's shape. */
export interface TableShape {
  /** Columns sorted by name. */
  readonly columns: readonly ColumnShape[];
  /** Indexes as `unique(a,b)` / `index(a)` / `primary(a)`, sorted. */
  readonly indexes: readonly string[];
}

type Row = Record<string, unknown>;

const rowsOf = (result: unknown, dialect: Dialect): Row[] =>
  dialect === 'mysql'
    ? ((result as [Row[]])[0] ?? [])
    : dialect === 'pg'
      ? (result as { rows: Row[] }).rows
      : (result as Row[]);

/** The shape of `table` in the database `knex` points at. */
export async function tableShape(knex: Knex, dialect: Dialect, table: string): Promise<TableShape> {
  const columns: ColumnShape[] = [];
  const indexes: string[] = [];
  if (dialect === 'sqlite') {
    for (const row of rowsOf(await knex.raw(`PRAGMA table_info(${JSON.stringify(table)})`), dialect)) {
      columns.push({
        name: String(row.name),
        type: String(row.type).toUpperCase(),
        nullable: Number(row.notnull) === 0 && Number(row.pk) === 0,
        default: row.dflt_value === null ? null : String(row.dflt_value),
      });
      if (Number(row.pk) > 0) indexes.push(`primary(${String(row.name)})`);
    }
    for (const index of rowsOf(await knex.raw(`PRAGMA index_list(${JSON.stringify(table)})`), dialect)) {
      if (index.origin === 'pk') continue;
      const info = rowsOf(
        await knex.raw(`PRAGMA index_info(${JSON.stringify(String(index.name))})`),
        dialect,
      );
      const cols = info.sort((a, b) => Number(a.seqno) - Number(b.seqno)).map((c) => String(c.name));
      indexes.push(`${Number(index.unique) === 1 ? 'unique' : 'index'}(${cols.join(',')})`);
    }
  } else if (dialect === 'mysql') {
    const cols = rowsOf(
      await knex.raw(
        `SELECT COLUMN_NAME AS name, COLUMN_TYPE AS type, IS_NULLABLE AS nullable, COLUMN_DEFAULT AS dflt, EXTRA AS extra
         FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?`,
        [table],
      ),
      dialect,
    );
    for (const row of cols) {
      columns.push({
        name: String(row.name),
        type: `${String(row.type)}${String(row.extra).includes('auto_increment') ? ' auto_increment' : ''}`,
        nullable: row.nullable === 'YES',
        default: row.dflt === null ? null : String(row.dflt),
      });
    }
    const stats = rowsOf(
      await knex.raw(
        `SELECT INDEX_NAME AS name, NON_UNIQUE AS non_unique, SEQ_IN_INDEX AS seq, COLUMN_NAME AS col
         FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? ORDER BY INDEX_NAME, SEQ_IN_INDEX`,
        [table],
      ),
      dialect,
    );
    const byName = new Map<string, { unique: boolean; primary: boolean; cols: string[] }>();
    for (const row of stats) {
      const name = String(row.name);
      const entry = byName.get(name) ?? {
        unique: Number(row.non_unique) === 0,
        primary: name === 'PRIMARY',
        cols: [],
      };
      entry.cols.push(String(row.col));
      byName.set(name, entry);
    }
    for (const { unique, primary, cols: list } of byName.values()) {
      indexes.push(`${primary ? 'primary' : unique ? 'unique' : 'index'}(${list.join(',')})`);
    }
  } else {
    const cols = rowsOf(
      await knex.raw(
        `SELECT column_name AS name, data_type AS type, character_maximum_length AS len, is_nullable AS nullable,
                column_default AS dflt
         FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = ?`,
        [table],
      ),
      dialect,
    );
    for (const row of cols) {
      columns.push({
        name: String(row.name),
        type: `${String(row.type)}${row.len === null ? '' : `(${String(row.len)})`}`,
        nullable: row.nullable === 'YES',
        default: row.dflt === null ? null : String(row.dflt),
      });
    }
    const idx = rowsOf(
      await knex.raw(
        `SELECT ix.indisunique AS is_unique, ix.indisprimary AS is_primary,
                array_to_string(array(
                  SELECT a.attname FROM unnest(ix.indkey) WITH ORDINALITY AS k(attnum, ord)
                  JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum ORDER BY k.ord), ',') AS cols
         FROM pg_index ix
         JOIN pg_class t ON t.oid = ix.indrelid
         JOIN pg_namespace n ON n.oid = t.relnamespace
         WHERE n.nspname = current_schema() AND t.relname = ?`,
        [table],
      ),
      dialect,
    );
    for (const row of idx) {
      indexes.push(
        `${row.is_primary === true ? 'primary' : row.is_unique === true ? 'unique' : 'index'}(${String(row.cols)})`,
      );
    }
  }
  columns.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  indexes.sort();
  return { columns, indexes };
}
