/**
 * Locks per throttle counter (setting id + tracking account), so that `consume` calls charging different
 * counters of one setting (a server-wide `@.` setting: every user's counter) run in parallel, while calls
 * charging the same counter queue for it. iRedMail's PostgreSQL schema has no unique key on
 * `throttle_tracking (tid, account)` and an existing MySQL database may lack its, so a counter that does not
 * exist yet cannot be locked as a row: the locks are the server's own named locks instead.
 *
 * - PostgreSQL: transaction-scoped advisory locks, `pg_advisory_xact_lock(int8)`, one statement for all of a
 *   call's counters, in ascending key order; released by `COMMIT`/`ROLLBACK`. The transaction runs
 *   `READ COMMITTED`, so the statements after the lock read what the previous holder committed.
 * - MySQL/MariaDB: user-level locks, `GET_LOCK(name, timeout)` (several per session since MySQL 5.7 and
 *   MariaDB 10.0.2), taken in name order on the connection before `BEGIN` and released with `RELEASE_LOCK`
 *   after `COMMIT` on that same connection; a connection whose release fails is destroyed, never returned to
 *   the pool holding a lock.
 * - SQLite: none; the transaction takes the database's write lock (`inTransaction`).
 *
 * Keys are hashes of `policyd:throttle:<tid>:<account>` (SHA-1; 64 bits for PostgreSQL, a 52-character name for
 * MySQL, whose limit is 64). A collision only makes two counters share a lock. MySQL compares accounts without
 * case, so its names use the lower-cased account.
 */

import { createHash } from 'node:crypto';
import type { Knex } from 'knex';
import { rawRows } from './raw-result.ts';
import type { SqlDatabase, TransactionOptions } from './sql.ts';

/** How long a MySQL `consume` waits for a counter lock before it fails with `POLICYD_ERR_STORE`. */
const MYSQL_LOCK_WAIT_SECONDS = 10;

/** One counter to lock: its setting id and tracking account. */
export interface CounterLockKey {
  /** `throttle.id`. */
  readonly settingId: number;
  /** `throttle_tracking.account`. */
  readonly trackingAccount: string;
}

/** How the work under the locks runs its transaction. */
export interface CounterLockScope {
  /** Options for `inTransaction` (MySQL: the connection holding the locks; PostgreSQL: `READ COMMITTED`). */
  readonly transaction: TransactionOptions;
  /** Run first in every attempt of the transaction (PostgreSQL: takes the advisory locks). */
  readonly lockInTransaction: (trx: Knex.Transaction) => Promise<void>;
}

function sha1(text: string): Buffer {
  return createHash('sha1').update(text, 'utf8').digest();
}

/** The PostgreSQL advisory lock keys (signed 64-bit, as decimal strings), distinct and ascending. */
export function pgCounterLockKeys(keys: readonly CounterLockKey[]): string[] {
  const numbers = new Set(
    keys.map((key) => sha1(`policyd:throttle:${key.settingId}:${key.trackingAccount}`).readBigInt64BE(0)),
  );
  return [...numbers].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)).map(String);
}

/** The MySQL user-level lock names, distinct and sorted. */
export function mysqlCounterLockNames(keys: readonly CounterLockKey[]): string[] {
  const names = new Set(
    keys.map(
      (key) =>
        `policyd:thr:${sha1(`policyd:throttle:${key.settingId}:${key.trackingAccount.toLowerCase()}`).toString('hex')}`,
    ),
  );
  return [...names].sort();
}

const noLock = async (): Promise<void> => {};

/**
 * Run `work` holding the locks of `keys` (see the module comment). `work` runs its transaction with
 * `scope.transaction` and calls `scope.lockInTransaction(trx)` first in it; it may retry the transaction (the
 * MySQL locks stay held meanwhile).
 */
export async function withCounterLocks<T>(
  db: SqlDatabase,
  keys: readonly CounterLockKey[],
  work: (scope: CounterLockScope) => Promise<T>,
): Promise<T> {
  if (db.dialect === 'sqlite') return work({ transaction: {}, lockInTransaction: noLock });
  if (db.dialect === 'pg') {
    const lockKeys = pgCounterLockKeys(keys);
    return work({
      transaction: { isolationLevel: 'read committed' },
      // unnest keeps the array's (ascending) order, so every caller locks in the same order.
      lockInTransaction: async (trx) => {
        await trx.raw('SELECT pg_advisory_xact_lock(k) FROM unnest(?::bigint[]) AS k', [lockKeys]);
      },
    });
  }
  return withMysqlLocks(db.knex, mysqlCounterLockNames(keys), work);
}

async function withMysqlLocks<T>(
  knex: Knex,
  names: readonly string[],
  work: (scope: CounterLockScope) => Promise<T>,
): Promise<T> {
  const client = knex.client as {
    acquireConnection(): Promise<unknown>;
    releaseConnection(connection: unknown): Promise<unknown>;
  };
  const connection = await client.acquireConnection();
  try {
    const acquire = names.map((_, i) => `GET_LOCK(?, ?) AS l${i}`).join(', ');
    const result = await knex
      .raw(
        `SELECT ${acquire}`,
        names.flatMap((name) => [name, MYSQL_LOCK_WAIT_SECONDS]),
      )
      .connection(connection);
    const row = rawRows('mysql', result)[0] ?? {};
    if (names.some((_, i) => Number(row[`l${i}`]) !== 1)) {
      throw new Error(`timed out after ${MYSQL_LOCK_WAIT_SECONDS} s waiting for a throttle counter lock`);
    }
    return await work({ transaction: { connection }, lockInTransaction: noLock });
  } finally {
    await releaseMysqlLocks(knex, connection, names);
    await client.releaseConnection(connection);
  }
}

/**
 * Release the locks (those this session does not hold are skipped by the server). If that fails the
 * connection is destroyed: the pool then discards it, and the server frees a closed session's locks.
 */
async function releaseMysqlLocks(knex: Knex, connection: unknown, names: readonly string[]): Promise<void> {
  try {
    await knex.raw(`DO ${names.map(() => 'RELEASE_LOCK(?)').join(', ')}`, [...names]).connection(connection);
  } catch {
    (connection as { destroy?: () => void }).destroy?.();
  }
}
