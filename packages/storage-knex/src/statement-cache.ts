/**
 * Compiled SQL for the statements every policy request runs. Knex's query builder compiles a query anew on
 * each call (tens of microseconds for a `UNION ALL` with `IN (…)` lists, a large share of a request's CPU), yet
 * these statements only differ in their values and in how many of them each list holds. So a statement is
 * built once per shape with marker values in place of the real ones, compiled, and from then on only its
 * bindings are filled in.
 */

import type { Knex } from 'knex';
import type { Dialect } from './dialect.ts';
import { type RawRow, rawRows } from './raw-result.ts';

/** Stand-in for value `index` while a statement is built: a string no real value contains. */
export type Param = (index: number) => string;

/** Shapes kept per cache; a store needs a few dozen, the bound only guards against unusual inputs. */
const MAX_SHAPES = 512;

const MARKER = '\u0000policyd-param:';

const param: Param = (index) => `${MARKER}${index}\u0000`;

/** Where each binding of a compiled statement comes from: a value's index, or a constant of the query. */
type Slot = { readonly index: number } | { readonly constant: unknown };

interface Compiled {
  readonly sql: string;
  readonly slots: readonly Slot[];
}

function compile(builder: Knex.QueryBuilder | Knex.Raw): Compiled {
  const { sql, bindings } = builder.toSQL();
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
  return {
    async select<Row>(shape: string, build: (p: Param) => Knex.QueryBuilder, values: readonly unknown[]) {
      let statement = compiled.get(shape);
      if (statement === undefined) {
        statement = compile(build(param));
        if (compiled.size >= MAX_SHAPES) compiled.delete(compiled.keys().next().value as string);
        compiled.set(shape, statement);
      }
      const bindings = statement.slots.map((slot) => ('index' in slot ? values[slot.index] : slot.constant));
      const result = await knex.raw(statement.sql, bindings as Knex.RawBinding[]);
      return rawRows(dialect, result) as readonly unknown[] as readonly Row[];
    },
  };
}
