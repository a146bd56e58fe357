/**
 * Conformance suite for {@link GreylistStore} implementations.
 */

import { describe } from 'vitest';
import type { GreylistStore } from '../greylist-store.ts';
import type { GreylistSeed } from '../seed.ts';
import { describeGreylistAdmin } from './greylist-admin.ts';
import { describeGreylistTracking } from './greylist-tracking.ts';
import { type HarnessFactory, type SeedableStoreHarness, useHarness } from './harness.ts';

/** A greylisting store under test, seedable with raw iredapd rows. */
export type GreylistStoreHarness = SeedableStoreHarness<GreylistStore, GreylistSeed>;

/**
 * Register the greylisting store conformance tests (vitest) for one implementation: context loading, the
 * tracking state machine and its atomicity, refresh, cleanup batches, settings, whitelists, whitelist domains
 * and generated networks.
 *
 * @example
 * ```ts
 * describeGreylistStoreConformance('memory', async () => {
 *   const store = createMemoryGreylistStore();
 *   return { store, seed: async (data) => store.seed(data), close: async () => {} };
 * });
 * ```
 */
export function describeGreylistStoreConformance(
  name: string,
  factory: HarnessFactory<GreylistStoreHarness>,
): void {
  describe(`GreylistStore conformance: ${name}`, () => {
    const h = useHarness(factory);
    describeGreylistTracking(h);
    describeGreylistAdmin(h);
  });
}
