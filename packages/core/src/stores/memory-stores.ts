/**
 * All in-memory stores at once: what a test or a single-host daemon without SQL passes to the plugins.
 */

import { createMemoryDomainStore, type MemoryDomainStore } from './memory-domain-store.ts';
import { createMemoryGreylistStore, type MemoryGreylistStore } from './memory-greylist-store.ts';
import { createMemoryThrottleStore } from './memory-throttle-store.ts';
import { createMemoryWblistStore, type MemoryWblistStore } from './memory-wblist-store.ts';
import type { DomainSeed } from './seed.ts';
import type { ThrottleStore } from './throttle-store.ts';

/** The in-memory stores, one per domain. Each `seed` method inserts raw rows for tests. */
export interface MemoryStores {
  /** Hosted domains (vmail). */
  readonly domains: MemoryDomainStore;
  /** White/blacklists (amavisd). */
  readonly wblist: MemoryWblistStore;
  /** Greylisting (iredapd). */
  readonly greylist: MemoryGreylistStore;
  /** Throttling (iredapd). */
  readonly throttle: ThrottleStore;
}

/** Options of {@link createMemoryStores}. */
export interface MemoryStoresOptions {
  /** vmail rows the domain store starts with. */
  readonly domains?: DomainSeed;
}

/**
 * Create empty in-memory stores. They keep state only in the returned objects (nothing is shared between two
 * calls) and behave like the SQL stores: same ordering, same validation, same whole-second times, and every
 * method's read-check-write runs without interleaving.
 *
 * @example
 * ```ts
 * const stores = createMemoryStores({ domains: { domains: [{ domain: 'example.com' }] } });
 * await stores.wblist.add({ account: '@.', direction: 'inbound', list: 'blacklist', addresses: ['192.0.2.1'] });
 * ```
 */
export function createMemoryStores(options: MemoryStoresOptions = {}): MemoryStores {
  return {
    domains: createMemoryDomainStore(options.domains),
    wblist: createMemoryWblistStore(),
    greylist: createMemoryGreylistStore(),
    throttle: createMemoryThrottleStore(),
  };
}
