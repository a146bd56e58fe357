/**
 * In-memory {@link SmtpSessionLog}: the rows in insertion order, times in whole seconds like the SQL table.
 */

import type { CleanupResult } from './cleanup.ts';
import { cleanupRows } from './memory-cleanup.ts';
import {
  checkSmtpSessionRows,
  type SmtpSessionCleanupOptions,
  type SmtpSessionLog,
  type SmtpSessionRow,
  smtpSessionCutoff,
} from './smtp-session-log.ts';
import { fromUnixSeconds, toUnixSeconds } from './store-time.ts';

/** An in-memory {@link SmtpSessionLog} whose rows can be read back (tests, single-host daemons). */
export interface MemorySmtpSessionLog extends SmtpSessionLog {
  /** The rows kept, oldest first, with `time` in whole seconds as a SQL table keeps it. */
  rows(): readonly SmtpSessionRow[];
}

/**
 * Create an empty in-memory request log.
 *
 * @example
 * ```ts
 * const log = createMemorySmtpSessionLog();
 * await log.record({ time: Date.now(), action: 'REJECT', reason: 'Blacklisted', … });
 * await log.recordMany([row2, row3]);
 * log.rows().length; // 3
 * ```
 */
export function createMemorySmtpSessionLog(): MemorySmtpSessionLog {
  const rows = new Map<number, SmtpSessionRow>();
  let nextId = 1;
  const insert = (batch: readonly SmtpSessionRow[]): void => {
    // Every row is checked before the first is kept: a malformed row leaves nothing behind.
    for (const row of checkSmtpSessionRows(batch)) {
      rows.set(nextId++, Object.freeze({ ...row, time: fromUnixSeconds(toUnixSeconds(row.time)) }));
    }
  };
  return {
    async record(row) {
      insert([row]);
    },
    async recordMany(batch) {
      insert(batch);
    },
    async cleanup(options: SmtpSessionCleanupOptions): Promise<CleanupResult> {
      smtpSessionCutoff(0, options.olderThanMs); // validate before anything is deleted
      return cleanupRows(
        rows,
        (row, nowSeconds) => toUnixSeconds(row.time) < smtpSessionCutoff(nowSeconds, options.olderThanMs),
        options,
      );
    },
    rows: () => Object.freeze([...rows.values()]),
  };
}
