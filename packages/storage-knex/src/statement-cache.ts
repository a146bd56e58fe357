/**
 * Compiled SQL for the statements every policy request runs. Knex's query builder compiles a query anew on
 * each call (tens of microseconds for a `UNION ALL` with `IN (…)` lists), and its query runner adds about as
 * much again per statement; on a busy policy server that is a large share of a request's CPU, yet these
 * statements only differ in their values and in how many of them each list holds. So a statement is built
 * once per shape with marker values in place of the real ones and compiled; each call then fills in the
 * bindings and runs it on a connection from knex's own pool, through the driver: MySQL/MariaDB and SQLite keep
 * it prepared per connection (the server parses it once: on MariaDB that halves the cost of the greylisting
 * context query), PostgreSQL statements stay unnamed, so a schema change never meets a stale server-side plan.
 * Knex's `query`, `query-response` and `query-error` events are still emitted, so query logging and counting
 * work.
 */

import type { Knex } from 'knex';
import type { Dialect } from './dialect.ts';
import type { RawRow } from './raw-result.ts';
import { intOf } from './sql.ts';

/** Stand-in for value `index` while a statement is built: a string no real value contains. */
export type Param = (index: number) => string;

/** Shapes kept per cache; a store needs a few dozen, the bound only guards against unusual inputs. */
const MAX_SHAPES = 512;

const MARKER = '\u0000policyd-param:';

const param: Param = (index) => `${MARKER}${index}\u0000`;

/** Where each binding of a compiled statement comes from: a value's index, or a constant of the query. */
type Slot = { readonly index: number } | { readonly constant: unknown };

interface Compiled {
  /** The SQL in the driver's placeholder syntax (`$1` on PostgreSQL, `?` elsewhere). */
  readonly sql: string;
  readonly slots: readonly Slot[];
}

function compile(builder: Knex.QueryBuilder): Compiled {
  const { sql, bindings } = builder.toSQL().toNative();
  return {
    sql,
    slots: bindings.map((binding): Slot => {
      if (typeof binding === 'string' && binding.startsWith(MARKER)) {
        return { index: Number(binding.slice(MARKER.length, -1)) };
      }
      return { constant: binding };
    }),
  };
}

/** What a statement run by {@link StatementCache.execute} returned, the same on every backend. */
export interface StatementResult {
  /** Rows it returned (`SELECT`, `RETURNING`); `[]` for none. */
  readonly rows: readonly RawRow[];
  /** Rows an `INSERT`, `UPDATE` or `DELETE` affected (MySQL: matched); the row count of a `SELECT`. */
  readonly affected: number;
  /** MySQL's insert id (also the last `LAST_INSERT_ID(expr)` value); 0 elsewhere. */
  readonly insertId: number;
}

/** The driver connection types, as far as this file uses them. */
interface MysqlConnection {
  execute(sql: string, values: unknown[], callback: (err: unknown, result: unknown) => void): void;
}
interface PgConnection {
  query(config: { text: string; values: unknown[] }): Promise<{
    rows: unknown[];
    rowCount: number | null;
  }>;
}
interface SqliteStatement {
  readonly reader: boolean;
  all(values: unknown[]): unknown[];
  run(values: unknown[]): { changes: number };
}
interface SqliteConnection {
  prepare(sql: string): SqliteStatement;
}

/** Runs statements compiled once per shape. */
export interface StatementCache {
  /**
   * Run the `SELECT` that `build` makes for `shape`, with `values` bound where `build` placed `p(i)`.
   *
   * @param shape - identifies the statement text: everything `build` depends on besides the values (which
   *   parts it has, how many values each `IN (…)` list holds)
   * @param build - builds the query with `p(i)` in place of `values[i]`; called once per shape
   * @returns the rows (typed as the caller's row type: the driver's values are not converted)
   */
  select<Row = RawRow>(
    shape: string,
    build: (p: Param) => Knex.QueryBuilder,
    values: readonly unknown[],
  ): Promise<readonly Row[]>;

  /**
   * Run a hand-written statement with `?` placeholders (any statement: `INSERT`, `UPDATE`, a data-modifying
   * `WITH` …). Its text is prepared once; the driver's errors are thrown as they are (a duplicate key keeps
   * its `errno`/`code`).
   */
  execute(sql: string, values: readonly unknown[]): Promise<StatementResult>;
}

/**
 * Create a cache for one database handle (one per store, so that no state is shared between storages).
 *
 * @example
 * ```ts
 * const statements = createStatementCache(knex, 'mysql');
 * const rows = await statements.select(`ids/${ids.length}`, (p) => knex('t').whereIn('id', ids.map((_, i) => p(i))), ids);
 * ```
 */
export function createStatementCache(knex: Knex, dialect: Dialect): StatementCache {
  const compiled = new Map<string, Compiled>();
  const written = new Map<string, Compiled>();
  // SQLite statements prepared per connection (a pool may replace a connection; the old one's go with it).
  const prepared = new WeakMap<object, Map<string, SqliteStatement>>();

  function prepareSqlite(sqlite: SqliteConnection, sql: string): SqliteStatement {
    let statements = prepared.get(sqlite);
    if (statements === undefined) {
      statements = new Map();
      prepared.set(sqlite, statements);
    }
    let statement = statements.get(sql);
    if (statement === undefined) {
      statement = sqlite.prepare(sql);
      if (statements.size >= MAX_SHAPES) statements.delete(statements.keys().next().value as string);
      statements.set(sql, statement);
    }
    return statement;
  }

  function run(connection: unknown, statement: Compiled, values: unknown[]): Promise<StatementResult> {
    if (dialect === 'mysql') {
      return new Promise((resolve, reject) => {
        (connection as MysqlConnection).execute(statement.sql, values, (err, result) => {
          if (err) return reject(err);
          if (Array.isArray(result)) return resolve({ rows: result, affected: result.length, insertId: 0 });
          const header = result as { affectedRows?: unknown; insertId?: unknown };
          resolve({ rows: [], affected: intOf(header.affectedRows), insertId: intOf(header.insertId) });
        });
      });
    }
    if (dialect === 'pg') {
      return (connection as PgConnection)
        .query({ text: statement.sql, values })
        .then((result) => ({ rows: result.rows as RawRow[], affected: result.rowCount ?? 0, insertId: 0 }));
    }
    const prepared = prepareSqlite(connection as SqliteConnection, statement.sql);
    if (prepared.reader) {
      const rows = prepared.all(values) as RawRow[];
      return Promise.resolve({ rows, affected: rows.length, insertId: 0 });
    }
    return Promise.resolve({ rows: [], affected: prepared.run(values).changes, insertId: 0 });
  }

  async function runPooled(statement: Compiled, values: unknown[]): Promise<StatementResult> {
    const event = { method: 'raw', sql: statement.sql, bindings: values };
    const connection: unknown = await knex.client.acquireConnection();
    try {
      if (knex.listenerCount('query') > 0) knex.emit('query', event);
      const result = await run(connection, statement, values);
      if (knex.listenerCount('query-response') > 0) knex.emit('query-response', result, event);
      return result;
    } catch (err) {
      if (knex.listenerCount('query-error') > 0) knex.emit('query-error', err, event);
      throw err;
    } finally {
      await knex.client.releaseConnection(connection);
    }
  }

  return {
    async select<Row>(shape: string, build: (p: Param) => Knex.QueryBuilder, values: readonly unknown[]) {
      let statement = compiled.get(shape);
      if (statement === undefined) {
        statement = compile(build(param));
        if (compiled.size >= MAX_SHAPES) compiled.delete(compiled.keys().next().value as string);
        compiled.set(shape, statement);
      }
      const bindings = statement.slots.map((slot) => ('index' in slot ? values[slot.index] : slot.constant));
      return (await runPooled(statement, bindings)).rows as readonly unknown[] as readonly Row[];
    },

    async execute(sql, values) {
      let statement = written.get(sql);
      if (statement === undefined) {
        // knex's own placeholder numbering (`?` → `$n` on PostgreSQL; `\\?` stays a literal `?`).
        const native = knex.client.positionBindings(sql) as string;
        statement = { sql: native, slots: [] };
        if (written.size >= MAX_SHAPES) written.delete(written.keys().next().value as string);
        written.set(sql, statement);
      }
      return runPooled(statement, [...values]);
    },
  };
}
