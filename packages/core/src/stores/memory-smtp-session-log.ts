/**
 * In-memory {@link SmtpSessionLog}: the rows in insertion order, times in whole seconds like the SQL table.
 */

import type { CleanupResult } from './cleanup.ts';
import { cleanupRows } from './memory-cleanup.ts';
import {
  checkSmtpSessionRow,
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
 * log.rows().length; // 1
 * ```
 */
export function createMemorySmtpSessionLog(): MemorySmtpSessionLog {
  const rows = new Map<number, SmtpSessionRow>();
  let nextId = 1;
  return {
    async record(row) {
      const checked = checkSmtpSessionRow(row);
      rows.set(nextId++, Object.freeze({ ...checked, time: fromUnixSeconds(toUnixSeconds(checked.time)) }));
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
