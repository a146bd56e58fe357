/** Latency statistics of the bench scripts. */

/**
 * The `p`-th percentile of sorted samples (nearest rank, rounding down), 0 when there are none.
 *
 * @param sorted - Samples in ascending order.
 * @param p - Percentile, 0–100.
 */
export function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}
