/**
 * Writes `smtp_sessions` rows in the background: the reply never waits for the insert, at most a few inserts
 * run at once, and a bounded queue absorbs bursts. When the database cannot keep up, rows beyond the queue are
 * dropped and counted rather than letting memory grow (iRedAPD, single-threaded, would slow every reply down
 * instead).
 */

import type { Logger, SmtpSessionLog, SmtpSessionRow } from '@policyd/core';

/** Options of {@link createSmtpSessionWriter}. */
export interface SmtpSessionWriterOptions {
  /** Where insert failures and dropped rows are reported. */
  readonly logger: Logger;
  /** Inserts running at once; default 4. */
  readonly maxConcurrent?: number;
  /** Rows waiting beyond those; default 10 000. */
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
 */
export function createSmtpSessionWriter(
  log: SmtpSessionLog,
  options: SmtpSessionWriterOptions,
): SmtpSessionWriter {
  const { logger } = options;
  const maxConcurrent = options.maxConcurrent ?? 4;
  const maxQueued = options.maxQueued ?? 10_000;
  const queue: SmtpSessionRow[] = [];
  let running = 0;
  let dropped = 0;
  let droppedSinceWarning = 0;
  let idle: (() => void)[] = [];

  function next(): void {
    while (running < maxConcurrent && queue.length > 0) {
      const row = queue.shift()!;
      running++;
      log.record(row).then(
        () => finish(),
        (err: unknown) => {
          logger.error({ err }, `<!> Error while logging smtp action: ${String(err)}`);
          finish();
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

  function finish(): void {
    running--;
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
      return queue.length + running;
    },
    get dropped() {
      return dropped;
    },
    drain() {
      if (running === 0 && queue.length === 0) return Promise.resolve();
      return new Promise<void>((resolve) => idle.push(resolve));
    },
  };
}
