/**
 * What `cleanup_db.py` needs beyond the stores' own `cleanup`: how many rows a cleaned table still holds (the
 * tool's "N left." line), and the expiry of `senderscore_cache`, a table of iRedAPD's senderscore plugin that
 * no policyd store owns but that a migrated iRedAPD database may still fill.
 */

import { type CleanupOptions, type CleanupResult, PolicydError, smtpSessionCutoff } from '@policyd/core';
import { deleteExpiredInBatches } from './batched-cleanup.ts';
import { intOf, type SqlDatabase } from './sql.ts';
import { withStoreErrors } from './store-error.ts';
import { GREYLISTING_TRACKING, SENDERSCORE_CACHE, SMTP_SESSIONS, THROTTLE_TRACKING } from './tables.ts';

/** The `iredapd` tables `cleanup_db.py` cleans, in its order. */
export const MAINTAINED_TABLES = Object.freeze([
  THROTTLE_TRACKING.name,
  GREYLISTING_TRACKING.name,
  SENDERSCORE_CACHE.name,
  SMTP_SESSIONS.name,
] as const);

/** One of {@link MAINTAINED_TABLES}. */
export type MaintainedTable = (typeof MAINTAINED_TABLES)[number];

/** Options of {@link KnexMaintenance.cleanupSenderscoreCache}. */
export interface SenderscoreCleanupOptions extends CleanupOptions {
  /** Delete scores cached longer than this, in milliseconds before `now`: `SENDERSCORE_CACHE_DAYS × 86 400 000`. */
  readonly olderThanMs: number;
}

/** Maintenance queries on the `iredapd` database. */
export interface KnexMaintenance {
  /**
   * Rows in a maintained table (`SELECT COUNT(*)`).
   *
   * @throws PolicydError `POLICYD_ERR_INVALID_OPTION` for another table name, `POLICYD_ERR_STORE` when the
   *   database fails (a missing table included)
   */
  countRows(table: MaintainedTable): Promise<number>;
  /**
   * Delete the `senderscore_cache` rows whose `time` is strictly before `now − olderThanMs` (whole seconds), in
   * batches of `batchSize` keyed by `client_address`, as `cleanup_db.py` does.
   *
   * @throws PolicydError `POLICYD_ERR_INVALID_OPTION` for bad options (before any query), `POLICYD_ERR_STORE`
   *   when the database fails
   */
  cleanupSenderscoreCache(options: SenderscoreCleanupOptions): Promise<CleanupResult>;
}

const KNOWN: ReadonlySet<string> = new Set(MAINTAINED_TABLES);

/**
 * Maintenance queries on the `iredapd` database.
 *
 * @example
 * ```ts
 * const maintenance = createKnexMaintenance(storage.databases.iredapd);
 * await maintenance.cleanupSenderscoreCache({ now: Date.now(), olderThanMs: 2 * 86_400_000 });
 * console.log(`${await maintenance.countRows('senderscore_cache')} left`);
 * ```
 */
export function createKnexMaintenance(db: SqlDatabase): KnexMaintenance {
  return {
    async countRows(table) {
      if (!KNOWN.has(table)) {
        throw new PolicydError(
          'POLICYD_ERR_INVALID_OPTION',
          `countRows: table must be one of ${MAINTAINED_TABLES.join(', ')}, got ${JSON.stringify(table)}`,
          { value: table },
        );
      }
      return withStoreErrors(`maintenance.countRows(${table})`, async () => {
        const rows = (await db.knex(table).count({ total: '*' })) as Record<string, unknown>[];
        return intOf(rows[0]?.total ?? 0);
      });
    },
    async cleanupSenderscoreCache(options) {
      smtpSessionCutoff(0, options.olderThanMs); // bad options fail before any query
      return withStoreErrors('maintenance.cleanupSenderscoreCache', () =>
        deleteExpiredInBatches(
          db,
          {
            table: SENDERSCORE_CACHE.name,
            id: SENDERSCORE_CACHE.col.clientAddress,
            expired: (query, now) =>
              query.where(SENDERSCORE_CACHE.col.time, '<', smtpSessionCutoff(now, options.olderThanMs)),
          },
          options,
        ),
      );
    },
  };
}
