/**
 * Compiled SQL for the statements every policy request runs. Knex's query builder compiles a query anew on
 * each call (tens of microseconds for a `UNION ALL` with `IN (…)` lists), and its query runner adds about as
 * much again per statement; on a busy policy server that is a large share of a request's CPU, yet these
 * statements only differ in their values and in how many of them each list holds. So a statement is built
 * once per shape with marker values in place of the real ones and compiled; each call then fills in the
 * bindings and runs it on a connection from knex's own pool, through the driver: PostgreSQL as a named
 * prepared statement, SQLite with its prepared statement kept per connection, MySQL as a text query. Knex's
 * `query`, `query-response` and `query-error` events are still emitted, so query logging and counting work.
 */

import { createHash } from 'node:crypto';
import type { Knex } from 'knex';
import type { Dialect } from './dialect.ts';
import type { RawRow } from './raw-result.ts';

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
  /** PostgreSQL's prepared statement name: derived from the text, so equal texts share one. */
  readonly name: string;
  readonly slots: readonly Slot[];
}

function compile(builder: Knex.QueryBuilder): Compiled {
  const { sql, bindings } = builder.toSQL().toNative();
  return {
    sql,
    name: `policyd_${createHash('sha1').update(sql).digest('hex').slice(0, 20)}`,
    slots: bindings.map((binding): Slot => {
      if (typeof binding === 'string' && binding.startsWith(MARKER)) {
        return { index: Number(binding.slice(MARKER.length, -1)) };
      }
      return { constant: binding };
    }),
  };
}

/** The driver connection types, as far as this file uses them. */
interface MysqlConnection {
  query(sql: string, values: unknown[], callback: (err: unknown, rows: unknown) => void): void;
}
interface PgConnection {
  query(config: { name: string; text: string; values: unknown[] }): Promise<{ rows: unknown[] }>;
}
interface SqliteStatement {
  all(values: unknown[]): unknown[];
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
  // SQLite statements prepared per connection (a pool may replace a connection; the old one's go with it).
  const prepared = new WeakMap<object, Map<string, SqliteStatement>>();

  function run(connection: unknown, statement: Compiled, values: unknown[]): Promise<unknown> {
    if (dialect === 'mysql') {
      return new Promise((resolve, reject) => {
        (connection as MysqlConnection).query(statement.sql, values, (err, rows) =>
          err ? reject(err) : resolve(rows),
        );
      });
    }
    if (dialect === 'pg') {
      const { name, sql: text } = statement;
      return (connection as PgConnection).query({ name, text, values }).then((result) => result.rows);
    }
    const sqlite = connection as SqliteConnection;
    let statements = prepared.get(sqlite);
    if (statements === undefined) {
      statements = new Map();
      prepared.set(sqlite, statements);
    }
    let prepare = statements.get(statement.sql);
    if (prepare === undefined) {
      prepare = sqlite.prepare(statement.sql);
      if (statements.size >= MAX_SHAPES) statements.delete(statements.keys().next().value as string);
      statements.set(statement.sql, prepare);
    }
    return Promise.resolve(prepare.all(values));
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
      const event = { method: 'select', sql: statement.sql, bindings };
      const connection: unknown = await knex.client.acquireConnection();
      try {
        if (knex.listenerCount('query') > 0) knex.emit('query', event);
        const rows = await run(connection, statement, bindings);
        if (knex.listenerCount('query-response') > 0) knex.emit('query-response', rows, event);
        return (Array.isArray(rows) ? rows : []) as Row[];
      } catch (err) {
        if (knex.listenerCount('query-error') > 0) knex.emit('query-error', err, event);
        throw err;
      } finally {
        await knex.client.releaseConnection(connection);
      }
    },
  };
}
