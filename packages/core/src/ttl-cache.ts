/**
 * A small bounded cache with per-entry expiry, for plugins and stores that reuse answers for a short time
 * (SPF results, decisions, domain look-ups). Times come from the caller, so tests control expiry and no timer
 * keeps the process alive; the least recently used entry goes first when the cache is full.
 */

/** A bounded cache of values that expire (see {@link createTtlCache}). */
export interface TtlCache<V> {
  /**
   * The value of `key` if present and `now < expiresAt`, else `undefined`. A hit makes the entry the most
   * recently used; an expired entry found here is dropped.
   */
  get(key: string, now: number): V | undefined;
  /**
   * Store `value` until `expiresAt` (same clock as `get`'s `now`), replacing any entry of `key` and making it
   * the most recently used; the least recently used entries are dropped beyond the capacity. Does nothing when
   * the capacity is 0 or less.
   */
  set(key: string, value: V, expiresAt: number): void;
  /** Drop the entry of `key`; true when there was one (expired or not). */
  delete(key: string): boolean;
  /** Drop every entry. */
  clear(): void;
  /** Entries held (expired ones included until they are looked up or pushed out). */
  readonly size: number;
}

/**
 * Create a cache holding at most `maxEntries` values; `maxEntries <= 0` gives a cache that holds nothing.
 *
 * @example
 * ```ts
 * const cache = createTtlCache<boolean>(1000);
 * cache.set('example.com 192.0.2.1', true, now + 300_000);
 * cache.get('example.com 192.0.2.1', now); // true
 * ```
 */
export function createTtlCache<V>(maxEntries: number): TtlCache<V> {
  // A Map iterates in insertion order: re-inserting on a hit keeps the least recently used entry first.
  const entries = new Map<string, { readonly value: V; readonly expiresAt: number }>();
  return {
    get(key, now) {
      const entry = entries.get(key);
      if (entry === undefined) return undefined;
      entries.delete(key);
      if (now >= entry.expiresAt) return undefined;
      entries.set(key, entry);
      return entry.value;
    },
    set(key, value, expiresAt) {
      if (!(maxEntries > 0)) return;
      entries.delete(key);
      entries.set(key, { value, expiresAt });
      while (entries.size > maxEntries) {
        const oldest = entries.keys().next();
        if (oldest.done === true) break;
        entries.delete(oldest.value);
      }
    },
    delete(key) {
      return entries.delete(key);
    },
    clear() {
      entries.clear();
    },
    get size() {
      return entries.size;
    },
  };
}
