/**
 * Batched expiry for the memory stores, with the same batch accounting a SQL store reports.
 */

import { type CleanupOptions, type CleanupResult, resolveCleanupOptions } from './cleanup.ts';
import { toUnixSeconds } from './store-time.ts';

/**
 * Delete the entries of `rows` for which `expired(row, nowSeconds)` holds, `batchSize` at a time, stopping
 * after a partial batch or at `maxBatches`. Synchronous, so it never interleaves with other calls.
 */
export function cleanupRows<K, R>(
  rows: Map<K, R>,
  expired: (row: R, nowSeconds: number) => boolean,
  options: CleanupOptions,
): CleanupResult {
  const { now, batchSize, maxBatches } = resolveCleanupOptions(options);
  const nowSeconds = toUnixSeconds(now, 'now');
  let deleted = 0;
  let batches = 0;
  for (;;) {
    let batch = 0;
    for (const [key, row] of rows) {
      if (batch === batchSize) break;
      if (!expired(row, nowSeconds)) continue;
      rows.delete(key);
      batch++;
    }
    deleted += batch;
    batches++;
    if (batch < batchSize) return { deleted, batches, more: false };
    if (batches >= maxBatches) return { deleted, batches, more: true };
  }
}
