/**
 * Small helpers every SQL store uses: the database handle with its dialect, transactions that retry on
 * deadlocks and take SQLite's write lock up front, binary `email` values, and numbers from driver rows.
 */

import type { Knex } from 'knex';
import type { Dialect } from './dialect.ts';

/** One logical database (`iredapd`, `amavisd` or `vmail`) as the stores see it. */
export interface SqlDatabase {
  /** The knex instance (its pool) for this database. */
  readonly knex: Knex;
  /** Its dialect. */
  readonly dialect: Dialect;
}

/** How often a transaction is retried after a deadlock, serialization failure or `SQLITE_BUSY`. */
const TRANSACTION_ATTEMPTS = 5;

/**
 * True for errors that mean "run the whole transaction again": MySQL/MariaDB deadlock (1213), PostgreSQL
 * deadlock (40P01) and serialization failure (40001), SQLite busy (another process holds the write lock
 * beyond `busy_timeout`, or a WAL snapshot went stale).
 */
export function isRetryableTransactionError(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const { code, errno } = err as { code?: unknown; errno?: unknown };
  return (
    errno === 1213 ||
    code === 'ER_LOCK_DEADLOCK' ||
    code === '40P01' ||
    code === '40001' ||
    (typeof code === 'string' && code.startsWith('SQLITE_BUSY'))
  );
}

/** What {@link inTransaction} locks first on SQLite: a table and one of its columns. */
export interface WriteLockTarget {
  /** A table the transaction writes. */
  readonly table: string;
  /** Any column of it. */
  readonly column: string;
}

/** How {@link inTransaction} opens its transaction. */
export interface TransactionOptions {
  /** A connection the caller acquired from the pool (and releases); default: one from the pool. */
  readonly connection?: unknown;
  /** `BEGIN` with this isolation level (PostgreSQL: one statement; MySQL would add a `SET TRANSACTION`). */
  readonly isolationLevel?: 'read committed';
}

/**
 * Run `fn` in a transaction and commit, retrying the whole transaction (up to 5 attempts) when the database
 * reports a deadlock or serialization failure.
 *
 * On SQLite the transaction first runs a no-op `UPDATE` on `lock.table`, which takes the database's write
 * lock at once: a read-check-write sequence is then serialized across processes sharing the file (otherwise
 * two deferred transactions could both read and one fail to upgrade). On MySQL and PostgreSQL, lock rows
 * explicitly inside `fn` (`forUpdate`, or an upsert that touches the row first) and always in the same order.
 * `options` can run it on a connection the caller holds (MySQL user locks live on one session) or at a given
 * isolation level.
 *
 * `fn` may run more than once: keep side effects other than SQL out of it.
 */
export async function inTransaction<T>(
  db: SqlDatabase,
  lock: WriteLockTarget,
  fn: (trx: Knex.Transaction) => Promise<T>,
  options: TransactionOptions = {},
): Promise<T> {
  const config: Knex.TransactionConfig = {};
  if (options.connection !== undefined) config.connection = options.connection;
  if (options.isolationLevel !== undefined) config.isolationLevel = options.isolationLevel;
  for (let attempt = 1; ; attempt++) {
    try {
      return await db.knex.transaction(async (trx) => {
        if (db.dialect === 'sqlite') {
          await trx(lock.table).update(lock.column, trx.ref(lock.column)).whereRaw('1 = 0');
        }
        return fn(trx);
      }, config);
    } catch (err) {
      if (attempt >= TRANSACTION_ATTEMPTS || !isRetryableTransactionError(err)) throw err;
      // Back off a little, with jitter, so the competing transactions do not collide again.
      await new Promise((resolve) => setTimeout(resolve, attempt * 5 + Math.random() * 10));
    }
  }
}

/** Add `FOR UPDATE` on MySQL and PostgreSQL; SQLite has no row locks (see {@link inTransaction}). */
export function forUpdate<T extends Knex.QueryBuilder>(db: SqlDatabase, query: T): T {
  return db.dialect === 'sqlite' ? query : (query.forUpdate() as T);
}

/**
 * A value for a binary `email` column (`VARBINARY` on MySQL, `bytea` on PostgreSQL, `BLOB` on SQLite):
 * bound as bytes, so every backend compares it byte for byte, and PostgreSQL does not parse backslashes.
 */
export function binaryValue(text: string): Buffer {
  return Buffer.from(text, 'utf8');
}

/** Text of a column that may come back as bytes (binary columns) or as a string. */
export function textOf(value: unknown): string {
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  if (value instanceof Uint8Array) return Buffer.from(value).toString('utf8');
  return value === null || value === undefined ? '' : String(value);
}

/**
 * A number from a driver row: PostgreSQL returns `BIGINT` as a string (unless the connection parses it),
 * MySQL may return `DECIMAL` sums as strings, SQLite can return `bigint` with safe integers on.
 */
export function intOf(value: unknown): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'bigint') return Number(value);
  if (typeof value === 'string') return Number(value);
  if (typeof value === 'boolean') return value ? 1 : 0;
  return 0;
}

/**
 * The number of rows a knex `update`/`delete` reports. knex returns a number on every dialect for these; a
 * defensive conversion keeps driver differences out of the stores.
 */
export function affectedRows(result: unknown): number {
  if (typeof result === 'number') return result;
  if (Array.isArray(result)) return result.length;
  return intOf((result as { rowCount?: unknown; affectedRows?: unknown } | null)?.rowCount);
}

/** Split `values` into chunks of at most `size`, for `IN (…)` lists and multi-row inserts. */
export function chunks<T>(values: readonly T[], size = 500): T[][] {
  const result: T[][] = [];
  for (let i = 0; i < values.length; i += size) result.push(values.slice(i, i + size));
  return result;
}
