/**
 * A write-behind queue: callers hand over items and go on at once; the items are written in the background,
 * batched adaptively. An item that arrives while a writer slot is free is written at once, alone (no timer, no
 * added latency); items that arrive while every slot is busy wait, and the next free slot takes up to
 * `maxBatch` of them in one `write`. So the batches grow with the load and the cost per item falls as the
 * load rises. The queue is bounded: beyond `maxQueued` items, `offer` refuses, and the caller decides what a
 * refused item means (drop and count it, or write it itself and wait).
 */

import { PolicydError } from './errors.ts';

/** What {@link BatchWriterOptions.onOverload} reports. */
export type BatchWriterOverload =
  /** The queue is full: items are refused until it drains (once per episode). */
  | { readonly state: 'full'; readonly maxQueued: number }
  /** The queue has drained again after refusing `refused` items. */
  | { readonly state: 'drained'; readonly refused: number };

/** Options of {@link createBatchWriter}. */
export interface BatchWriterOptions<T> {
  /** Used in option errors, e.g. `smtp_sessions writer`. */
  readonly name: string;
  /** Write one batch, in queue order. A rejection (or a throw) loses the batch: see `onFailure`. */
  readonly write: (batch: readonly T[]) => Promise<void>;
  /** Called once per failed batch, after it is counted in {@link BatchWriter.failed}. */
  readonly onFailure: (err: unknown, batch: readonly T[]) => void;
  /** Called when the queue fills up (once per episode) and when it has drained again. */
  readonly onOverload?: (event: BatchWriterOverload) => void;
  /** Batches being written at once; default 2. */
  readonly maxConcurrent?: number;
  /**
   * Most items per batch; default 100. Under load the batches stay far below it (a write takes milliseconds),
   * and a bound keeps one write's transient memory small (SQLite prepares a 500-row, 17-column `INSERT` into a
   * statement of about 0.7 MB, and glibc rarely gives such bursts back).
   */
  readonly maxBatch?: number;
  /** Items waiting beyond those being written; default 10 000. */
  readonly maxQueued?: number;
}

/** The queue. */
export interface BatchWriter<T> {
  /** Queue one item and return at once: `true`, or `false` when the queue is full and the item refused. */
  offer(item: T): boolean;
  /** Items queued or being written. */
  readonly pending: number;
  /** Items refused because the queue was full, since the start. */
  readonly refused: number;
  /** Items lost because their batch failed, since the start. */
  readonly failed: number;
  /** Resolves when every item queued so far has been written (or has failed). */
  drain(): Promise<void>;
}

/**
 * Two batches in flight are enough: while one write's answer travels back, the other can run, and every item
 * that arrives meanwhile joins the next batch, so more slots would only cut the load into smaller batches and
 * hold more database connections, which requests need.
 */
const DEFAULT_MAX_CONCURRENT = 2;

/**
 * Create a write-behind queue.
 *
 * @example
 * ```ts
 * const writer = createBatchWriter({
 *   name: 'audit rows',
 *   write: (rows) => store.insertMany(rows),
 *   onFailure: (err, rows) => log.error({ err }, `${rows.length} audit rows lost`),
 * });
 * if (!writer.offer(row)) await store.insertMany([row]); // full: write it now instead
 * await writer.drain(); // before closing the store
 * ```
 *
 * @throws PolicydError `POLICYD_ERR_INVALID_OPTION` when `maxConcurrent`, `maxBatch` or `maxQueued` is not an
 * integer ≥ 1
 */
export function createBatchWriter<T>(options: BatchWriterOptions<T>): BatchWriter<T> {
  // Zero would never write (or, for maxBatch, loop forever): refuse it up front.
  const positive = (option: string, value: number): number => {
    if (!Number.isSafeInteger(value) || value < 1) {
      const message = `${options.name}: ${option} must be an integer ≥ 1, got ${value}`;
      throw new PolicydError('POLICYD_ERR_INVALID_OPTION', message, { value });
    }
    return value;
  };
  const maxConcurrent = positive('maxConcurrent', options.maxConcurrent ?? DEFAULT_MAX_CONCURRENT);
  const maxBatch = positive('maxBatch', options.maxBatch ?? 100);
  const maxQueued = positive('maxQueued', options.maxQueued ?? 10_000);
  const queue: T[] = [];
  let running = 0; // batches in flight
  let inFlight = 0; // items in those batches
  let refused = 0;
  let failed = 0;
  let refusedThisEpisode = 0;
  let idle: (() => void)[] = [];

  function next(): void {
    while (running < maxConcurrent && queue.length > 0) {
      const batch = queue.splice(0, maxBatch);
      running++;
      inFlight += batch.length;
      let written: Promise<void>;
      try {
        written = options.write(batch);
      } catch (err) {
        written = Promise.reject(err); // a writer that throws instead of rejecting must not stall the queue
      }
      written.then(
        () => finish(batch.length),
        (err: unknown) => {
          failed += batch.length;
          try {
            options.onFailure(err, batch);
          } catch {
            // The failure is counted in `failed`; a reporter that throws must not stall the queue.
          }
          finish(batch.length);
        },
      );
    }
    if (running === 0 && queue.length === 0) {
      if (refusedThisEpisode > 0) {
        const event = { state: 'drained', refused: refusedThisEpisode } as const;
        refusedThisEpisode = 0;
        options.onOverload?.(event);
      }
      const waiting = idle;
      idle = [];
      for (const resolve of waiting) resolve();
    }
  }

  function finish(items: number): void {
    running--;
    inFlight -= items;
    next();
  }

  return {
    offer(item) {
      if (queue.length >= maxQueued) {
        refused++;
        if (refusedThisEpisode++ === 0) options.onOverload?.({ state: 'full', maxQueued });
        return false;
      }
      queue.push(item);
      next();
      return true;
    },
    get pending() {
      return queue.length + inFlight;
    },
    get refused() {
      return refused;
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
