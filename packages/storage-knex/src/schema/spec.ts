/**
 * Table definitions as data, and the DDL they turn into per dialect. The migrations create each table from
 * its spec when it does not exist; the column types, defaults, keys and index names follow iRedAPD's
 * `SQL/iredapd.{mysql,pgsql}` and iRedMail's amavisd/vmail schema. SQLite, which iRedMail does not use,
 * gets the closest types (`INTEGER`, `VARCHAR(n)`, `BLOB` for binary columns).
 */

import type { Dialect } from '../dialect.ts';

/** A SQL type, the same on every dialect or one per dialect. */
export type SqlType = string | Readonly<Record<Dialect, string>>;

/** One column. Columns are `NOT NULL` unless `nullable`. */
export interface ColumnSpec {
  /** Column name (from `tables.ts`). */
  readonly name: string;
  /**
   * Its type. `'auto-id'` is the auto-increment primary key (`BIGINT(20) UNSIGNED AUTO_INCREMENT` on MySQL,
   * `SERIAL` on PostgreSQL, `INTEGER … AUTOINCREMENT` on SQLite); `'auto-int-id'` the same with MySQL
   * `INT UNSIGNED` (amavisd's `users.id`, `mailaddr.id`).
   */
  readonly type: SqlType | 'auto-id' | 'auto-int-id';
  /** Allow `NULL`: on every dialect, or on the listed ones. */
  readonly nullable?: boolean | readonly Dialect[];
  /** Column default: a number, a string literal, or raw SQL (`{ sql: 'CURRENT_TIMESTAMP' }`). */
  readonly default?: number | string | { readonly sql: string };
  /** Dialects where the column has no default even though {@link default} is set. */
  readonly noDefaultOn?: readonly Dialect[];
  /** A PostgreSQL `CHECK` expression, as iRedMail's amavisd schema has for ids. */
  readonly pgCheck?: string;
  /** `REFERENCES table(column)`. */
  readonly references?: { readonly table: string; readonly column: string };
}

/** A unique key or a plain index. */
export interface IndexSpec {
  /** Index name (iRedAPD's PostgreSQL name where it has one). */
  readonly name: string;
  /** Indexed columns, in order. */
  readonly columns: readonly string[];
  /** Unique key. */
  readonly unique?: boolean;
  /** Only on these dialects (iRedAPD's MySQL and PostgreSQL keys differ on `throttle*`). */
  readonly dialects?: readonly Dialect[];
}

/** One table. */
export interface TableSpec {
  /** Table name (from `tables.ts`). */
  readonly name: string;
  /** Columns in iRedAPD's order. */
  readonly columns: readonly ColumnSpec[];
  /** Primary key when it is not an `auto-id` column. */
  readonly primaryKey?: readonly string[];
  /** Unique keys and indexes. */
  readonly indexes?: readonly IndexSpec[];
}

/** Quote an identifier for the dialect (names come from specs, never from input). */
export function quoteIdentifier(dialect: Dialect, name: string): string {
  return dialect === 'mysql' ? `\`${name}\`` : `"${name}"`;
}

function typeFor(dialect: Dialect, type: SqlType): string {
  return typeof type === 'string' ? type : type[dialect];
}

function literal(value: NonNullable<ColumnSpec['default']>): string {
  if (typeof value === 'number') return String(value);
  if (typeof value === 'string') return `'${value.replaceAll("'", "''")}'`;
  return value.sql;
}

/** The indexes of a table on one dialect. */
export function indexesOf(dialect: Dialect, spec: TableSpec): IndexSpec[] {
  return (spec.indexes ?? []).filter(
    (index) => index.dialects === undefined || index.dialects.includes(dialect),
  );
}

/** The column definition as it appears in `CREATE TABLE` or `ALTER TABLE … ADD COLUMN`. */
export function columnDefinition(dialect: Dialect, column: ColumnSpec): string {
  const name = quoteIdentifier(dialect, column.name);
  if (column.type === 'auto-id' || column.type === 'auto-int-id') {
    if (dialect === 'pg') return `${name} SERIAL PRIMARY KEY`;
    if (dialect === 'sqlite') return `${name} INTEGER PRIMARY KEY AUTOINCREMENT`;
    const int = column.type === 'auto-id' ? 'BIGINT(20) UNSIGNED' : 'INT UNSIGNED';
    return `${name} ${int} NOT NULL AUTO_INCREMENT PRIMARY KEY`;
  }
  const parts = [name, typeFor(dialect, column.type)];
  const nullable = Array.isArray(column.nullable)
    ? column.nullable.includes(dialect)
    : column.nullable === true;
  if (!nullable) parts.push('NOT NULL');
  if (column.default !== undefined && column.noDefaultOn?.includes(dialect) !== true)
    parts.push(`DEFAULT ${literal(column.default)}`);
  if (dialect === 'pg' && column.pgCheck !== undefined) parts.push(`CHECK (${column.pgCheck})`);
  // MySQL ignores an inline REFERENCES; createTableStatements adds a table-level FOREIGN KEY there.
  if (column.references !== undefined && dialect !== 'mysql') {
    const { table, column: target } = column.references;
    parts.push(`REFERENCES ${quoteIdentifier(dialect, table)} (${quoteIdentifier(dialect, target)})`);
  }
  return parts.join(' ');
}

/**
 * The statements that create a table with its keys and indexes: one `CREATE TABLE` (MySQL: with its keys,
 * `ENGINE=InnoDB`), then one `CREATE [UNIQUE] INDEX` per index on PostgreSQL and SQLite.
 */
export function createTableStatements(dialect: Dialect, spec: TableSpec): string[] {
  const q = (name: string) => quoteIdentifier(dialect, name);
  const list = (columns: readonly string[]) => columns.map(q).join(', ');
  const lines = spec.columns.map((column) => columnDefinition(dialect, column));
  if (spec.primaryKey !== undefined) lines.push(`PRIMARY KEY (${list(spec.primaryKey)})`);
  const indexes = indexesOf(dialect, spec);
  if (dialect === 'mysql') {
    for (const index of indexes) {
      lines.push(`${index.unique === true ? 'UNIQUE KEY' : 'KEY'} ${q(index.name)} (${list(index.columns)})`);
    }
    // MySQL creates foreign keys only from table-level constraints (an inline REFERENCES is ignored).
    for (const column of spec.columns) {
      if (column.references === undefined) continue;
      const { table, column: target } = column.references;
      lines.push(`FOREIGN KEY (${q(column.name)}) REFERENCES ${q(table)} (${q(target)})`);
    }
  }
  const create = `CREATE TABLE ${q(spec.name)} (\n  ${lines.join(',\n  ')}\n)${dialect === 'mysql' ? ' ENGINE=InnoDB' : ''}`;
  if (dialect === 'mysql') return [create];
  return [
    create,
    ...indexes.map(
      (index) =>
        `CREATE ${index.unique === true ? 'UNIQUE ' : ''}INDEX ${q(index.name)} ON ${q(spec.name)} (${list(index.columns)})`,
    ),
  ];
}
