/**
 * Conformance suite for {@link ThrottleStore} implementations.
 */

import { describe } from 'vitest';
import type { ThrottleStore } from '../throttle-store.ts';
import { type HarnessFactory, type StoreHarness, useHarness } from './harness.ts';
import { describeThrottleAdmin } from './throttle-admin.ts';
import { describeThrottleConsume } from './throttle-consume.ts';
import { describeThrottleSliding } from './throttle-sliding.ts';

/** A throttle store under test. */
export type ThrottleStoreHarness = StoreHarness<ThrottleStore>;

/**
 * Register the throttle store conformance tests (vitest) for one implementation: settings look-ups and
 * admin, counting, limits, window boundaries, notification claims, atomicity under concurrency, cleanup, and the
 * charge options beyond iRedAPD (sliding windows, strict quota).
 *
 * @example
 * ```ts
 * describeThrottleStoreConformance('memory', async () => ({
 *   store: createMemoryThrottleStore(),
 *   close: async () => {},
 * }));
 * ```
 */
export function describeThrottleStoreConformance(
  name: string,
  factory: HarnessFactory<ThrottleStoreHarness>,
): void {
  describe(`ThrottleStore conformance: ${name}`, () => {
    const h = useHarness(factory);
    describeThrottleAdmin(h);
    describeThrottleConsume(h);
    describeThrottleSliding(h);
  });
}
