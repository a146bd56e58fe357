/**
 * Conformance suite for {@link WblistStore} implementations.
 */

import { describe } from 'vitest';
import type { WblistSeed } from '../seed.ts';
import type { WblistStore } from '../wblist-store.ts';
import { type HarnessFactory, type SeedableStoreHarness, useHarness } from './harness.ts';
import { describeWblistAdmin } from './wblist-admin.ts';
import { describeWblistLookup } from './wblist-lookup.ts';

/** A wblist store under test, seedable with raw amavisd rows. */
export type WblistStoreHarness = SeedableStoreHarness<WblistStore, WblistSeed>;

/**
 * Register the wblist store conformance tests (vitest) for one implementation: look-ups in both directions,
 * networks, ordering and ties, `wb` values, add/remove/list with canonical values and priorities,
 * idempotency, the B35 fix, validation and concurrent adds.
 *
 * @example
 * ```ts
 * describeWblistStoreConformance('memory', async () => {
 *   const store = createMemoryWblistStore();
 *   return { store, seed: async (data) => store.seed(data), close: async () => {} };
 * });
 * ```
 */
export function describeWblistStoreConformance(
  name: string,
  factory: HarnessFactory<WblistStoreHarness>,
): void {
  describe(`WblistStore conformance: ${name}`, () => {
    const h = useHarness(factory);
    describeWblistLookup(h);
    describeWblistAdmin(h);
  });
}
