/**
 * Writes `smtp_sessions` rows in the background: the reply never waits for the insert, and a bounded queue
 * absorbs bursts. Rows are batched adaptively: a row that arrives while a writer slot is free is written at
 * once, alone (no timer, no added latency); rows that arrive while every slot is busy wait in the queue, and
 * the next free slot takes up to `maxBatch` of them in one `recordMany` (one multi-row `INSERT`). So the
 * batches grow with the load, and the cost per row falls as the load rises. When the database cannot keep up,
 * rows beyond the queue are dropped and counted rather than letting memory grow (iRedAPD, single-threaded,
 * would slow every reply down instead).
 */

import { type Logger, PolicydError, type SmtpSessionLog, type SmtpSessionRow } from '@policyd/core';

/** Options of {@link createSmtpSessionWriter}. */
export interface SmtpSessionWriterOptions {
  /** Where insert failures and dropped rows are reported. */
  readonly logger: Logger;
  /** Batches being inserted at once; default 2. */
  readonly maxConcurrent?: number;
  /** Most rows per batch (one `recordMany`); default 500. */
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
 * Two batches in flight are enough: while one insert's answer travels back, the other can run, and every row
 * that arrives meanwhile joins the next batch, so more slots would only cut the load into smaller batches and
 * hold more of the pool's connections, which the plugins need to answer requests.
 */
const DEFAULT_MAX_CONCURRENT = 2;

// Zero would never write (or, for maxBatch, loop forever): refuse it up front.
function positive(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 1) {
    const message = `smtp_sessions writer: ${name} must be an integer ≥ 1, got ${value}`;
    throw new PolicydError('POLICYD_ERR_INVALID_OPTION', message, { value });
  }
  return value;
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
  const maxConcurrent = positive('maxConcurrent', options.maxConcurrent ?? DEFAULT_MAX_CONCURRENT);
  const maxBatch = positive('maxBatch', options.maxBatch ?? 500);
  const maxQueued = positive('maxQueued', options.maxQueued ?? 10_000);
  const queue: SmtpSessionRow[] = [];
  let running = 0; // batches in flight
  let inFlight = 0; // rows in those batches
  let dropped = 0;
  let failed = 0;
  let droppedSinceWarning = 0;
  let idle: (() => void)[] = [];

  function next(): void {
    while (running < maxConcurrent && queue.length > 0) {
      const batch = queue.splice(0, maxBatch);
      running++;
      inFlight += batch.length;
      let written: Promise<void>;
      try {
        written = log.recordMany(batch);
      } catch (err) {
        written = Promise.reject(err); // a log that throws instead of rejecting must not stall the writer
      }
      written.then(
        () => finish(batch.length),
        (err: unknown) => {
          failed += batch.length;
          logger.error(
            { err, lost: batch.length },
            `<!> Error while logging smtp action: ${String(err)} (${batch.length} ${batch.length === 1 ? 'row' : 'rows'} lost)`,
          );
          finish(batch.length);
        },
      );
    }
    if (running === 0 && queue.length === 0) {
      if (droppedSinceWarning > 0) {
        logger.warn({ dropped: droppedSinceWarning }, 'smtp_sessions: the queue has drained again');
        droppedSinceWarning = 0;
      }
      const waiting = idle;
      idle = [];
      for (const resolve of waiting) resolve();
    }
  }

  function finish(rows: number): void {
    running--;
    inFlight -= rows;
    next();
  }

  return {
    write(row) {
      if (queue.length >= maxQueued) {
        dropped++;
        // One warning per overload episode, not one per row.
        if (droppedSinceWarning++ === 0) {
          logger.warn(
            { maxQueued },
            'smtp_sessions: the database does not keep up, dropping rows until the queue drains',
          );
        }
        return;
      }
      queue.push(row);
      next();
    },
    get pending() {
      return queue.length + inFlight;
    },
    get dropped() {
      return dropped;
    },
    get failed() {
      return failed;
    },
    drain() {
      if (running === 0 && queue.length === 0) return Promise.resolve();
      return new Promise<void>((resolve) => idle.push(resolve));
    },
  };
}
