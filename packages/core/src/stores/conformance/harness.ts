/**
 * What a conformance suite needs from an implementation under test: a fresh, empty store per test, a way to
 * insert raw rows, and a way to release it.
 */

import { afterEach, beforeEach, expect } from 'vitest';
import { isPolicydError, type PolicydErrorCode } from '../../errors.ts';

/** One store under test. */
export interface StoreHarness<S> {
  /** The store, empty. */
  readonly store: S;
  /** Release it (close connections, drop the test database …). */
  close(): Promise<void>;
}

/** One store under test that can be given raw rows. */
export interface SeedableStoreHarness<S, Seed> extends StoreHarness<S> {
  /** Insert raw rows verbatim, as an existing iRedMail/iRedAPD database may hold them. */
  seed(data: Seed): Promise<void>;
}

/** Makes a fresh harness; called before every test. */
export type HarnessFactory<H> = () => Promise<H>;

/** A start time that is a whole second (stores keep seconds): 2026-01-01T00:00:00Z. */
export const T0 = Date.UTC(2026, 0, 1);

/** Seconds → milliseconds, for readable test times. */
export const seconds = (s: number): number => s * 1000;

/**
 * Register `beforeEach`/`afterEach` hooks that make a fresh harness per test, and return a getter for it.
 * Call inside a `describe`.
 */
export function useHarness<H extends StoreHarness<unknown>>(factory: HarnessFactory<H>): () => H {
  let current: H | undefined;
  beforeEach(async () => {
    current = await factory();
  });
  afterEach(async () => {
    const harness = current;
    current = undefined;
    await harness?.close();
  });
  return () => {
    if (current === undefined) throw new Error('conformance harness used outside a test');
    return current;
  };
}

/** Assert that `promise` rejects with a PolicydError of `code`, optionally naming `value`. */
export async function expectPolicydError(
  promise: Promise<unknown>,
  code: PolicydErrorCode,
  value?: unknown,
): Promise<void> {
  let error: unknown;
  try {
    await promise;
  } catch (err) {
    error = err;
  }
  expect(isPolicydError(error, code), `expected PolicydError ${code}, got ${String(error)}`).toBe(true);
  if (value !== undefined) expect((error as { value: unknown }).value).toEqual(value);
}
