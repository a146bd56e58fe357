/**
 * Writes `smtp_sessions` rows in the background on core's write-behind queue (`createBatchWriter`): the reply
 * never waits for the insert, a bounded queue absorbs bursts, and rows that wait are inserted together in one
 * `recordMany` (one multi-row `INSERT`). When the database cannot keep up, rows beyond the queue are dropped
 * and counted rather than letting memory grow (iRedAPD, single-threaded, would slow every reply down instead).
 */

import { createBatchWriter, type Logger, type SmtpSessionLog, type SmtpSessionRow } from '@policyd/core';

/** Options of {@link createSmtpSessionWriter}. */
export interface SmtpSessionWriterOptions {
  /** Where insert failures and dropped rows are reported. */
  readonly logger: Logger;
  /** Batches being inserted at once; default 2. */
  readonly maxConcurrent?: number;
  /** Most rows per batch (one `recordMany`); default 100. */
  readonly maxBatch?: number;
  /** Rows waiting beyond those being inserted; default 10 000. */
  readonly maxQueued?: number;
}

/** The background writer. */
export interface SmtpSessionWriter {
  /** Queue one row; returns at once. */
  write(row: SmtpSessionRow): void;
  /** Rows queued or being inserted. */
  readonly pending: number;
  /** Rows dropped because the queue was full, since the start. */
  readonly dropped: number;
  /** Rows lost because their batch failed, since the start. */
  readonly failed: number;
  /** Resolves when every queued row has been written (or has failed). */
  drain(): Promise<void>;
}

/**
 * Create a writer on `log`.
 *
 * @example
 * ```ts
 * const writer = createSmtpSessionWriter(storage.smtpSessions, { logger });
 * writer.write(row);      // in the server's onRequest hook
 * await writer.drain();   // before closing the storage
 * ```
 *
 * @throws PolicydError `POLICYD_ERR_INVALID_OPTION` when `maxConcurrent`, `maxBatch` or `maxQueued` is not an
 * integer ≥ 1
 */
export function createSmtpSessionWriter(
  log: SmtpSessionLog,
  options: SmtpSessionWriterOptions,
): SmtpSessionWriter {
  const { logger } = options;
  const queue = createBatchWriter<SmtpSessionRow>({
    name: 'smtp_sessions writer',
    write: (rows) => log.recordMany(rows),
    onFailure(err, rows) {
      const lost = rows.length;
      logger.error(
        { err, lost },
        `<!> Error while logging smtp action: ${String(err)} (${lost} ${lost === 1 ? 'row' : 'rows'} lost)`,
      );
    },
    onOverload(event) {
      // One warning per overload episode, not one per row.
      if (event.state === 'full') {
        logger.warn(
          { maxQueued: event.maxQueued },
          'smtp_sessions: the database does not keep up, dropping rows until the queue drains',
        );
      } else {
        logger.warn({ dropped: event.refused }, 'smtp_sessions: the queue has drained again');
      }
    },
    ...(options.maxConcurrent === undefined ? {} : { maxConcurrent: options.maxConcurrent }),
    ...(options.maxBatch === undefined ? {} : { maxBatch: options.maxBatch }),
    ...(options.maxQueued === undefined ? {} : { maxQueued: options.maxQueued }),
  });
  return {
    write(row) {
      queue.offer(row); // a refused row is dropped, counted and warned about by onOverload
    },
    get pending() {
      return queue.pending;
    },
    get dropped() {
      return queue.refused;
    },
    get failed() {
      return queue.failed;
    },
    drain: () => queue.drain(),
  };
}
