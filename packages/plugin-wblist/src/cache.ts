/**
 * The optional decision cache: a bounded map from "who sends to whom from where" to the decision, each entry
 * kept for a short time. It lives in one plugin instance; expiry is checked on access against the policy's
 * clock, so nothing keeps the process alive.
 */

import { createTtlCache, type Decision } from '@policyd/core';
import type { WblistSubject } from './plan.ts';

/** A bounded, time-limited decision cache. */
export interface DecisionCache {
  /** The cached decision for the key, or `undefined` when absent or expired. A hit makes it most recent. */
  get(key: string, now: number): Decision | undefined;
  /** Remember a decision; the least recently used entry is dropped when the cache is full. */
  set(key: string, decision: Decision, now: number): void;
  /** Entries currently held (expired ones included until they are touched or pushed out). */
  readonly size: number;
}

/**
 * The cache key of a request: everything a decision depends on besides the stored data (the login or sender,
 * the recipient, the client IP, and whether the client authenticated).
 */
export function cacheKey(subject: WblistSubject): string {
  return `${subject.sasl ? 'a' : 'u'}\u0000${subject.sender}\u0000${subject.recipient}\u0000${subject.clientAddress}`;
}

/**
 * Create a decision cache: a least-recently-used {@link createTtlCache} whose entries expire `ttlMs` after
 * they were stored.
 *
 * @param maxEntries - most entries kept
 * @param ttlMs - how long an entry is valid after it was stored
 */
export function createDecisionCache(maxEntries: number, ttlMs: number): DecisionCache {
  const entries = createTtlCache<Decision>(maxEntries);
  return {
    get: (key, now) => entries.get(key, now),
    set: (key, decision, now) => entries.set(key, decision, now + ttlMs),
    get size() {
      return entries.size;
    },
  };
}
