/**
 * The optional decision cache: a bounded map from "who sends to whom from where" to the decision, each entry
 * kept for a short time. It lives in one plugin instance; expiry is checked on access against the policy's
 * clock, so nothing keeps the process alive.
 */

import type { Decision } from '@policyd/core';
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

interface Entry {
  readonly decision: Decision;
  readonly expiresAt: number;
}

/**
 * The cache key of a request: everything a decision depends on besides the stored data (the login or sender,
 * the recipient, the client IP, and whether the client authenticated).
 */
export function cacheKey(subject: WblistSubject): string {
  return `${subject.sasl ? 'a' : 'u'}\u0000${subject.sender}\u0000${subject.recipient}\u0000${subject.clientAddress}`;
}

/**
 * Create a decision cache. A Map keeps insertion order, so re-inserting on a hit makes the first key the least
 * recently used one.
 *
 * @param maxEntries - most entries kept
 * @param ttlMs - how long an entry is valid after it was stored
 */
export function createDecisionCache(maxEntries: number, ttlMs: number): DecisionCache {
  const entries = new Map<string, Entry>();
  return {
    get(key, now) {
      const entry = entries.get(key);
      if (entry === undefined) return undefined;
      entries.delete(key);
      if (now >= entry.expiresAt) return undefined;
      entries.set(key, entry);
      return entry.decision;
    },
    set(key, decision, now) {
      entries.delete(key);
      if (entries.size >= maxEntries) {
        const oldest = entries.keys().next();
        if (oldest.done !== true) entries.delete(oldest.value);
      }
      entries.set(key, { decision, expiresAt: now + ttlMs });
    },
    get size() {
      return entries.size;
    },
  };
}
