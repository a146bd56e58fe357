/**
 * Expiry in bounded batches, shared by the stores that keep tracking rows (greylisting triplets, throttle
 * windows). Like iRedAPD's `cleanup_db.py`, a store deletes at most `batchSize` rows per statement so that a
 * large backlog never holds locks for long.
 */

import { PolicydError } from '../errors.ts';

/** Options of a store's `cleanup`. */
export interface CleanupOptions {
  /** Current time in milliseconds since the epoch; rows that expired strictly before it are deleted. */
  readonly now: number;
  /** Rows per delete statement; default 1000 (iRedAPD's `CLEANUP_QUERY_SIZE_LIMIT`). */
  readonly batchSize?: number;
  /** Stop after this many batches even if more rows are expired; default: no limit. */
  readonly maxBatches?: number;
}

/** What a `cleanup` call did. */
export interface CleanupResult {
  /** Rows deleted. */
  readonly deleted: number;
  /** Delete statements run (batches), the last one possibly partial or empty. */
  readonly batches: number;
  /** True when it stopped at `maxBatches` after a full batch, so expired rows may remain. */
  readonly more: boolean;
}

/** Default rows per batch. */
export const DEFAULT_CLEANUP_BATCH_SIZE = 1000;

/** {@link CleanupOptions} with defaults applied and values checked. */
export interface ResolvedCleanupOptions {
  /** Current time in milliseconds. */
  readonly now: number;
  /** Rows per batch, ≥ 1. */
  readonly batchSize: number;
  /** Batch limit, ≥ 1, or `Infinity`. */
  readonly maxBatches: number;
}

/**
 * Apply defaults to cleanup options and check them, so that every store validates alike.
 *
 * @throws PolicydError `POLICYD_ERR_INVALID_OPTION` naming the bad option
 */
export function resolveCleanupOptions(options: CleanupOptions): ResolvedCleanupOptions {
  const { now, batchSize = DEFAULT_CLEANUP_BATCH_SIZE, maxBatches = Number.POSITIVE_INFINITY } = options;
  if (typeof now !== 'number' || !Number.isFinite(now) || now < 0) {
    throw new PolicydError(
      'POLICYD_ERR_INVALID_OPTION',
      `cleanup: now must be a time in milliseconds, got ${now}`,
      {
        value: now,
      },
    );
  }
  if (!Number.isSafeInteger(batchSize) || batchSize < 1) {
    throw new PolicydError(
      'POLICYD_ERR_INVALID_OPTION',
      `cleanup: batchSize must be an integer ≥ 1, got ${batchSize}`,
      {
        value: batchSize,
      },
    );
  }
  if (maxBatches !== Number.POSITIVE_INFINITY && (!Number.isSafeInteger(maxBatches) || maxBatches < 1)) {
    throw new PolicydError(
      'POLICYD_ERR_INVALID_OPTION',
      `cleanup: maxBatches must be an integer ≥ 1, got ${maxBatches}`,
      { value: maxBatches },
    );
  }
  return { now, batchSize, maxBatches };
}
