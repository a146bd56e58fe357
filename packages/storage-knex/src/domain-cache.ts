/**
 * An optional short-lived cache in front of a {@link DomainStore}. Hosted domains change rarely and every
 * plugin asks about the same few domains, so a cache of a few seconds saves a query per plugin per request.
 * It is off by default (answers are then always exact); `knexStorage({ domainCacheTtlMs })` turns it on for
 * all plugins at once. A cached call still returns at once, so the round-trip rules of `stores.md` hold.
 * "Not hosted" is remembered too, for the same time (most sender domains are not, and they are asked about on
 * nearly every request), so a domain added in the admin panel is seen within the TTL.
 */

import { createTtlCache, type DomainInfo, type DomainStore } from '@policyd/core';

/** Options of {@link cacheDomainStore}. */
export interface DomainCacheOptions {
  /** How long an answer is reused, in milliseconds (> 0). */
  readonly ttlMs: number;
  /** At most this many domains are kept (least recently used dropped first); default 10 000. */
  readonly maxEntries?: number;
  /** Clock in milliseconds; default `Date.now`. */
  readonly now?: () => number;
}

/**
 * Wrap a domain store with a per-domain TTL cache. Domains missing from the cache are looked up together in
 * one call to the underlying store; every domain asked about is remembered, also one the store leaves out of
 * its answer (then it stays out of the cached answers too). Failures are not cached.
 */
export function cacheDomainStore(store: DomainStore, options: DomainCacheOptions): DomainStore {
  const { ttlMs, maxEntries = 10_000, now = Date.now } = options;
  // `null`: the store left the domain out of its answer (`undefined` already means "not cached").
  const cache = createTtlCache<DomainInfo | null>(maxEntries);
  return {
    async lookupDomains(domains) {
      const time = now();
      const wanted = [...new Set(domains.map((domain) => String(domain).toLowerCase()))];
      const result = new Map<string, DomainInfo>();
      const missing: string[] = [];
      for (const domain of wanted) {
        const hit = cache.get(domain, time);
        if (hit === undefined) missing.push(domain);
        else if (hit !== null) result.set(domain, hit);
      }
      if (missing.length > 0) {
        const fresh = await store.lookupDomains(missing);
        for (const domain of missing) {
          const info = fresh.get(domain);
          if (info !== undefined) result.set(domain, info);
          cache.set(domain, info ?? null, time + ttlMs);
        }
      }
      // Keep the input's order of first appearance, as the uncached store does.
      return new Map(
        wanted.flatMap((domain) => {
          const info = result.get(domain);
          return info === undefined ? [] : [[domain, info] as const];
        }),
      );
    },
  };
}
