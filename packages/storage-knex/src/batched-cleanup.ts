/**
 * Expiry in bounded batches, as iRedAPD's `cleanup_db.py` does it: select the ids of at most `batchSize` expired
 * rows (a plain read, no locks), then delete those ids with the expiry condition checked again. So no statement
 * ever touches more than a batch, a MySQL `DELETE` locks only the rows it deletes (not every row a scan passes,
 * as `DELETE … WHERE <unindexed condition> LIMIT n` would), and a row refreshed in between is kept.
 */

import type { CleanupOptions, CleanupResult } from '@policyd/core';
import { resolveCleanupOptions, toUnixSeconds } from '@policyd/core';
import type { Knex } from 'knex';
import { affectedRows, chunks, type SqlDatabase } from './sql.ts';

/** Which rows of a table have expired. */
export interface ExpiringRows {
  /** Table name. */
  readonly table: string;
  /** Its primary key column. */
  readonly id: string;
  /** Add the "expired at `now`" condition (unix seconds) to a query on the table. */
  readonly expired: (query: Knex.QueryBuilder, now: number) => Knex.QueryBuilder;
}

/** Ids per `DELETE … WHERE id IN (…)`, well below every driver's limit on bound parameters. */
const IDS_PER_DELETE = 500;

/**
 * Delete the expired rows of a table in batches of `batchSize`, stopping after a batch that was not full or at
 * `maxBatches` (then `more` is true). Two statements per batch (one more per 500 ids beyond the first 500).
 *
 * @throws PolicydError `POLICYD_ERR_INVALID_OPTION` for bad options (before any query)
 */
export async function deleteExpiredInBatches(
  db: SqlDatabase,
  rows: ExpiringRows,
  options: CleanupOptions,
): Promise<CleanupResult> {
  const { now, batchSize, maxBatches } = resolveCleanupOptions(options);
  const seconds = toUnixSeconds(now, 'now');
  const { knex } = db;
  let deleted = 0;
  let batches = 0;
  for (;;) {
    const found = (await rows.expired(knex(rows.table).select(rows.id), seconds).limit(batchSize)) as Record<
      string,
      unknown
    >[];
    const ids = found.map((row) => row[rows.id]);
    for (const part of chunks(ids, IDS_PER_DELETE)) {
      deleted += affectedRows(
        await rows.expired(knex(rows.table).whereIn(rows.id, part as never[]), seconds).delete(),
      );
    }
    batches++;
    if (ids.length < batchSize) return { deleted, batches, more: false };
    if (batches >= maxBatches) return { deleted, batches, more: true };
  }
}
