/**
 * Per-message session data: one Map per Postfix `instance`, bounded in count and age, without timers.
 */

import { PolicydError } from './errors.ts';

/** Limits of the per-message session cache (see `PolicyContext.session`). */
export interface SessionCacheOptions {
  /** Most instances kept; beyond it the least recently used is dropped. Default 10 000. */
  readonly maxEntries?: number;
  /** An instance unused for this many milliseconds is dropped. Default 3 600 000 (one hour). */
  readonly ttlMs?: number;
}

/** Session maps keyed by Postfix `instance`. */
export interface SessionCache {
  /**
   * The session Map of `instance`, created empty when unknown or expired, and marked as just used. For `''`
   * (a request without `instance`) a fresh empty Map that is not kept.
   */
  get(instance: string): Map<string, unknown>;
  /** Instances currently held (expired ones may still count until the next `get`). */
  readonly size: number;
}

/** Default limits of the session cache. */
export const DEFAULT_SESSION_CACHE: Readonly<Required<SessionCacheOptions>> = Object.freeze({
  maxEntries: 10_000,
  ttlMs: 3_600_000,
});

interface Entry {
  readonly data: Map<string, unknown>;
  usedAt: number;
}

/**
 * Create a session cache. Expiry is checked on access against `now()`, so nothing keeps the process alive.
 * Throws `POLICYD_ERR_INVALID_OPTION` for a `maxEntries` that is not a positive integer or a `ttlMs` that is
 * not a positive finite number.
 *
 * @example
 * ```ts
 * const sessions = createSessionCache({ maxEntries: 100 }, Date.now);
 * sessions.get(request.instance).set('throttle:counted', true);
 * ```
 */
export function createSessionCache(
  options: SessionCacheOptions = {},
  now: () => number = Date.now,
): SessionCache {
  const maxEntries = options.maxEntries ?? DEFAULT_SESSION_CACHE.maxEntries;
  const ttlMs = options.ttlMs ?? DEFAULT_SESSION_CACHE.ttlMs;
  if (!Number.isSafeInteger(maxEntries) || maxEntries < 1) {
    throw new PolicydError(
      'POLICYD_ERR_INVALID_OPTION',
      `sessionCache.maxEntries must be a positive integer, got ${String(maxEntries)}`,
      { value: maxEntries },
    );
  }
  if (typeof ttlMs !== 'number' || !(ttlMs > 0 && ttlMs < Infinity)) {
    throw new PolicydError(
      'POLICYD_ERR_INVALID_OPTION',
      `sessionCache.ttlMs must be a positive finite number of milliseconds, got ${String(ttlMs)}`,
      { value: ttlMs },
    );
  }

  // Map iteration order is insertion order; re-inserting on every use keeps it least-recently-used first,
  // which is also oldest-`usedAt` first while the clock does not go back.
  const entries = new Map<string, Entry>();

  function dropExpired(at: number): void {
    for (const [instance, entry] of entries) {
      if (at - entry.usedAt < ttlMs) return;
      entries.delete(instance);
    }
  }

  return {
    get(instance) {
      if (instance === '') return new Map();
      const at = now();
      dropExpired(at);
      let entry = entries.get(instance);
      if (entry !== undefined) entries.delete(instance);
      // The age test matters only when the clock went back and an expired entry hid behind a fresh one.
      if (entry === undefined || at - entry.usedAt >= ttlMs) entry = { data: new Map(), usedAt: at };
      else entry.usedAt = at;
      entries.set(instance, entry);
      if (entries.size > maxEntries) {
        const oldest = entries.keys().next();
        if (oldest.done !== true) entries.delete(oldest.value);
      }
      return entry.data;
    },
    get size() {
      return entries.size;
    },
  };
}
